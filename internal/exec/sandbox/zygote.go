//go:build linux

package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// zygote is the long-lived nsinit process sandboxes are cloned from (see nsinit.c), and the
// relay of their lifecycles: barge is not their parent, so exits arrive as messages.
type zygote struct {
	mu      sync.Mutex
	conn    *net.UnixConn // nil until started, and again after the zygote died
	nextID  uint64
	pending map[uint64]*pendingStart
	running map[int]*Proc
	pid     int // the zygote's, for tests
	// pasta is pasta's path when every pooled network namespace gets outbound network through
	// it (Options.NetworkNAT); "" leaves them loopback only.
	pasta string
}

// pendingStart is a request the zygote has not answered yet.
type pendingStart struct {
	p   *Proc
	err chan error
}

// reply mirrors struct reply in nsinit.c.
const replySize = 24

// ensure starts the zygote if it is not running. Called with z.mu held.
func (z *zygote) ensure() error {
	if z.conn != nil {
		return nil
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("zygote socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "zygote"), os.NewFile(uintptr(fds[1]), "zygote-child")
	defer theirs.Close()
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return fmt.Errorf("zygote socket: %w", err)
	}
	conn := c.(*net.UnixConn)
	conn.SetWriteBuffer(8 << 20) // a plan (environment, arguments) is one message
	// The parent-death signal fires when the thread that started the process exits, so the
	// zygote is started from a locked thread that lives as long as the zygote.
	errc := make(chan error, 1)
	var pid int
	go func() {
		runtime.LockOSThread()
		cmd := exec.Command("/proc/self/exe")
		cmd.Args = []string{"barge-sandbox-zygote"}
		cmd.Env = []string{"_BARGE_NSINIT=zygote"}
		if z.pasta != "" {
			cmd.Env = append(cmd.Env, "_BARGE_NAT="+z.pasta)
		}
		cmd.ExtraFiles = []*os.File{theirs}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
		if err := cmd.Start(); err != nil {
			errc <- fmt.Errorf("zygote: %w", err)
			return
		}
		pid = cmd.Process.Pid
		errc <- nil
		cmd.Wait() // keeps this thread (and so the zygote) alive; never unlocked
	}()
	if err := <-errc; err != nil {
		conn.Close()
		return err
	}
	z.conn, z.pid = conn, pid
	if z.pending == nil {
		z.pending, z.running = map[uint64]*pendingStart{}, map[int]*Proc{}
	}
	go z.read(conn)
	return nil
}

// start asks the zygote for a sandbox running plan with the given descriptors (stdout, stderr,
// the error pipe, then those the plan names as "fd:N"); on success p knows its pid and pidfd and
// will be told of its exit.
func (z *zygote) start(plan []byte, files []*os.File, p *Proc) error {
	z.mu.Lock()
	if err := z.ensure(); err != nil {
		z.mu.Unlock()
		return err
	}
	z.nextID++
	id := z.nextID
	ps := &pendingStart{p: p, err: make(chan error, 1)}
	z.pending[id] = ps
	conn := z.conn
	z.mu.Unlock()

	msg := make([]byte, 8+len(plan))
	binary.NativeEndian.PutUint64(msg, id)
	copy(msg[8:], plan)
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	rights := unix.UnixRights(fds...)
	if _, _, err := conn.WriteMsgUnix(msg, rights, nil); err != nil {
		z.mu.Lock()
		delete(z.pending, id)
		z.mu.Unlock()
		return fmt.Errorf("zygote: %w", err)
	}
	return <-ps.err
}

// read relays the zygote's replies until it dies; then every sandbox it had is gone too (they
// die with it), so each is reported killed and the next start launches a new zygote.
func (z *zygote) read(conn *net.UnixConn) {
	buf, oob := make([]byte, replySize), make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil || n != replySize {
			break
		}
		typ, val := buf[0], int(int32(binary.NativeEndian.Uint32(buf[4:])))
		pid, id := int(int32(binary.NativeEndian.Uint32(buf[8:]))), binary.NativeEndian.Uint64(buf[16:])
		z.mu.Lock()
		switch typ {
		case 'S', 'E':
			ps := z.pending[id]
			delete(z.pending, id)
			if ps == nil {
				break
			}
			if typ == 'E' {
				ps.err <- fmt.Errorf("zygote: clone: %w", syscall.Errno(val))
				break
			}
			ps.p.pid, ps.p.pidfd = val, -1
			ps.p.netSlot = int(int32(binary.NativeEndian.Uint32(buf[12:])))
			if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
				if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
					ps.p.pidfd = fds[0]
				}
			}
			ps.p.zconn = conn
			// Registered before any exit of this pid can be read: the zygote answers a start
			// before it reaps the child.
			z.running[val] = ps.p
			ps.err <- nil
		case 'X':
			if p := z.running[pid]; p != nil {
				delete(z.running, pid)
				p.exited(syscall.WaitStatus(val))
			}
		}
		z.mu.Unlock()
	}
	conn.Close()
	z.mu.Lock()
	if z.conn == conn {
		z.conn = nil
	}
	pending, running := z.pending, z.running
	z.pending, z.running = map[uint64]*pendingStart{}, map[int]*Proc{}
	z.mu.Unlock()
	for _, ps := range pending {
		ps.err <- errors.New("the sandbox zygote died")
	}
	for _, p := range running {
		p.exited(syscall.WaitStatus(syscall.SIGKILL))
	}
}

// freeNet tells the zygote that barge holds nothing more in the network namespace of pool slot
// slot (its listeners are closed), so that the next sandbox may have it. conn is the zygote the
// slot came from: a new zygote has a pool of its own.
func (z *zygote) freeNet(conn *net.UnixConn, slot int) {
	z.mu.Lock()
	same := z.conn == conn
	z.mu.Unlock()
	if !same || conn == nil {
		return
	}
	msg := make([]byte, 8, 16)
	msg = append(msg, 'Z')
	msg = append(append(msg, strconv.Itoa(slot)...), 0)
	conn.Write(msg)
}

// close stops the zygote (its sandboxes die with it).
func (z *zygote) close() {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.conn != nil {
		z.conn.Close()
		z.conn = nil
	}
}
