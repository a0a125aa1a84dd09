//go:build !linux

package sandbox

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// errNotLinux is why there are no sandboxes here: namespaces and cgroups are Linux's.
var errNotLinux = errors.New("sandboxes need Linux (namespaces and cgroups)")

// Sandbox is unavailable off Linux; New says so.
type Sandbox struct{}

// Proc is unavailable off Linux.
type Proc struct{ Listeners []net.Listener }

// Probe reports why this host cannot run sandboxes.
func Probe() error { return errNotLinux }

// New fails off Linux.
func New(Options) (*Sandbox, error) { return nil, errNotLinux }

// Report fails off Linux.
func Report() (string, error) { return "", errNotLinux }

func (*Sandbox) Close()           {}
func (*Sandbox) Describe() string { return "" }

// IsolatesNetwork is false off Linux.
func (*Sandbox) IsolatesNetwork() bool { return false }

// TenantIDs is never known off Linux.
func (*Sandbox) TenantIDs(Config) (uint32, uint32, bool) { return 0, 0, false }

// Start fails off Linux.
func (*Sandbox) Start(Config, *os.File, *os.File) (*Proc, error) { return nil, errNotLinux }

// Output is a prepared sandbox's output; there are none off Linux.
type Output struct{ OutR, OutW, ErrR, ErrW *os.File }

// PoolStats counts prepared sandboxes; there are none off Linux.
type PoolStats struct{ Prepared, Used, Discarded, Ready int }

// StartPrepared never has a prepared sandbox off Linux.
func (*Sandbox) StartPrepared(Config) (*Proc, Output, bool, error) { return nil, Output{}, false, nil }

// PoolStats is empty off Linux.
func (*Sandbox) PoolStats() PoolStats { return PoolStats{} }

func (*Proc) Pid() int                         { return 0 }
func (*Proc) Wait() (syscall.WaitStatus, bool) { return 0, false }
func (*Proc) Signal(syscall.Signal) error      { return errNotLinux }
func (*Proc) PeakMemory() int64                { return 0 }
