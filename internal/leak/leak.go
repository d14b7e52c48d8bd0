// Package leak finds goroutines a test left running. It is this module's
// own small replacement for go.uber.org/goleak, so that the library's
// go.mod lists no test-only module: a test takes a Snapshot, does its
// work, and Check fails it when goroutines other than the snapshot's and
// the runtime's own are still running after a grace period.
package leak

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// Grace is how long Check and VerifyTestMain wait for goroutines that are
// finishing (a closed connection's reader, a cancelled timer) before they
// call them leaked.
const Grace = 5 * time.Second

// goroutine is one entry of runtime.Stack(all).
type goroutine struct {
	id    string   // "goroutine 12"
	state string   // "running", "chan receive", ...
	funcs []string // function names, innermost first
	text  string   // the whole entry, for the report
}

// Snapshot is the set of goroutines running when it was taken.
type Snapshot map[string]bool

// Take records the goroutines running now; Check ignores them.
func Take() Snapshot {
	s := Snapshot{}
	for _, g := range stacks() {
		s[g.id] = true
	}
	return s
}

// Check fails t when goroutines started since the snapshot are still
// running after Grace. ignore lists function names (as in a stack trace,
// "pkg.(*T).method") whose goroutines are not leaks.
func Check(t testing.TB, s Snapshot, ignore ...string) {
	t.Helper()
	if left := wait(s, ignore); len(left) > 0 {
		t.Errorf("leak: %d goroutines left running:\n\n%s", len(left), report(left))
	}
}

// VerifyTestMain runs the tests and then, when they passed, fails the
// binary if any goroutine is left running. Use it as TestMain's body.
func VerifyTestMain(m *testing.M, ignore ...string) {
	code := m.Run()
	if code == 0 {
		if left := wait(nil, ignore); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "leak: %d goroutines left running after the tests:\n\n%s", len(left), report(left))
			code = 1
		}
	}
	os.Exit(code)
}

// wait polls until no unexpected goroutine is left or Grace has passed,
// and returns what is left.
func wait(s Snapshot, ignore []string) []goroutine {
	deadline := time.Now().Add(Grace)
	pause := time.Millisecond
	for {
		left := unexpected(s, ignore)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// unexpected lists the goroutines that are neither the caller, nor in s,
// nor the runtime's or the testing package's own, nor ignored.
func unexpected(s Snapshot, ignore []string) []goroutine {
	all := stacks()
	var left []goroutine
	for i, g := range all {
		if i == 0 || s[g.id] || expected(g, ignore) {
			continue // the first entry is the calling goroutine
		}
		left = append(left, g)
	}
	sort.Slice(left, func(i, j int) bool { return left[i].id < left[j].id })
	return left
}

// system lists functions whose goroutines belong to the runtime or the
// testing package: the test runner itself, signal handling, finalizers.
var system = []string{
	"testing.RunTests",
	"testing.runTests",
	"testing.(*T).Run",
	"testing.(*M).Run",
	"testing.runFuzzTests",
	"testing.runFuzzing",
	"testing.tRunner.func1", // a parallel test's parent waiting
	"testing.(*T).Parallel",
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ensureSigM",
	"runtime.ReadTrace",
	"runtime.goexit", // an entry whose only frame is goexit
	"runtime/trace.Start.func1",
}

// expected reports whether g is one of the runtime's, the testing
// package's, or an ignored function's goroutines.
func expected(g goroutine, ignore []string) bool {
	if len(g.funcs) == 0 {
		return true
	}
	top := g.funcs[0]
	if top == "runtime.goexit" || (len(g.funcs) == 1 && strings.HasPrefix(top, "runtime.")) {
		return true
	}
	if strings.HasPrefix(top, "testing.") && g.state == "chan receive" && hasFunc(g, "testing.(*T).Run") {
		return true // a test waiting for its subtests
	}
	for _, name := range system {
		if top == name || (name == "testing.RunTests" || name == "testing.runTests" || name == "testing.(*M).Run") && hasFunc(g, name) {
			return true
		}
	}
	for _, name := range ignore {
		if hasFunc(g, name) {
			return true
		}
	}
	return false
}

// hasFunc reports whether name is one of g's frames.
func hasFunc(g goroutine, name string) bool {
	for _, f := range g.funcs {
		if f == name {
			return true
		}
	}
	return false
}

// stacks returns every goroutine's stack, the caller's first.
func stacks() []goroutine {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutine
	for _, entry := range strings.Split(string(buf), "\n\n") {
		if g, ok := parse(entry); ok {
			out = append(out, g)
		}
	}
	return out
}

// parse reads one entry of runtime.Stack's output:
//
//	goroutine 7 [chan receive, 2 minutes]:
//	pkg.fn(0x1, 0x2)
//		/path/file.go:12 +0x34
//	created by pkg.other in goroutine 1
//		/path/file.go:40 +0x56
func parse(entry string) (goroutine, bool) {
	lines := strings.Split(strings.TrimSpace(entry), "\n")
	head, rest, ok := strings.Cut(lines[0], " [")
	if !ok || !strings.HasPrefix(head, "goroutine ") {
		return goroutine{}, false
	}
	state, _, _ := strings.Cut(strings.TrimSuffix(rest, "]:"), ",")
	g := goroutine{id: head, state: state, text: entry}
	for _, l := range lines[1:] {
		if l == "" || l[0] == '\t' || strings.HasPrefix(l, "created by ") {
			continue
		}
		name := l
		if i := strings.LastIndexByte(name, '('); i > 0 {
			name = name[:i]
		}
		g.funcs = append(g.funcs, name)
	}
	return g, true
}

// report prints the goroutines' stacks.
func report(gs []goroutine) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteString(g.text)
		b.WriteString("\n\n")
	}
	return b.String()
}
