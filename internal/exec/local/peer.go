package local

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// An attempt that shares the host's network (--job-network host) gets its endpoints (a
// function's Runtime API) on free loopback ports, which every process of the host can reach. So
// that another tenant cannot take its events, such a listener accepts only connections whose
// socket belongs to the attempt's tenant's host ids (its user namespace's range), as the kernel
// reports the socket's owner in /proc/net/tcp. Attempts with a network of their own need none of
// this: their endpoints exist only inside it.

// ownedListener accepts only connections from sockets owned by host ids [first, first+count).
type ownedListener struct {
	net.Listener
	first, count uint32
}

// Accept implements net.Listener, closing connections from anyone else.
func (l *ownedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, err := peerUID(c)
		if err == nil && uid >= l.first && uid-l.first < l.count {
			return c, nil
		}
		slog.Warn("refused a connection to an attempt's endpoint from outside its tenant", "addr", l.Addr(), "peer", c.RemoteAddr(), "uid", uid, "err", err)
		c.Close()
	}
}

// peerUID is the host uid owning the other end of a loopback TCP connection.
func peerUID(c net.Conn) (uint32, error) {
	local, err1 := netip.ParseAddrPort(c.LocalAddr().String())
	remote, err2 := netip.ParseAddrPort(c.RemoteAddr().String())
	if err1 != nil || err2 != nil {
		return 0, errors.New("not a TCP connection")
	}
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	table := "/proc/net/tcp"
	if !remote.Addr().Is4() {
		table = "/proc/net/tcp6"
	}
	f, err := os.Open(table)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 {
			continue
		}
		// The peer's socket: its local end is our remote, its remote end our local.
		if procAddr(fields[1]) != remote || procAddr(fields[2]) != local {
			continue
		}
		uid, err := strconv.ParseUint(fields[7], 10, 32)
		return uint32(uid), err
	}
	return 0, fmt.Errorf("no socket %s → %s in %s", remote, local, table)
}

// procAddr decodes an address of /proc/net/tcp{,6}: the address in host byte order (per 32-bit
// word), a colon and the port in hex.
func procAddr(s string) netip.AddrPort {
	addrHex, portHex, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(addrHex)
	port, err2 := strconv.ParseUint(portHex, 16, 16)
	if !ok || err != nil || err2 != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}
	}
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(raw[i:], binary.NativeEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port))
}
