package fn

import "testing"

// Exported for the tests of package fn_test, which use the store-backed shares (package lambda
// imports fn).

// NewPoolForTest is newPool.
func NewPoolForTest(tb testing.TB, cfg Config) *Pool { p, _ := newPool(tb, cfg); return p }

// EchoSpecForTest is echoSpec.
func EchoSpecForTest(name string) FunctionSpec { return echoSpec(name) }
