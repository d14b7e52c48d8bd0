package leak

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps what Errorf reports.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// parked blocks until stop is closed.
func parked(stop chan struct{}) { <-stop }

func TestCheckFindsLeak(t *testing.T) {
	s := Take()
	stop := make(chan struct{})
	go parked(stop)
	r := &recorder{TB: t}
	start := time.Now()
	Check(r, s)
	close(stop)
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "leak.parked") {
		t.Fatalf("Check reported %q, want the parked goroutine", r.errs)
	}
	if time.Since(start) < Grace {
		t.Errorf("Check gave up before its grace period")
	}
}

func TestCheckIgnores(t *testing.T) {
	s := Take()
	stop := make(chan struct{})
	defer close(stop)
	go parked(stop)
	r := &recorder{TB: t}
	Check(r, s, "github.com/companion-go/companion/internal/leak.parked")
	if len(r.errs) != 0 {
		t.Fatalf("Check reported %q for an ignored function", r.errs)
	}
}

func TestCheckWaitsForFinishing(t *testing.T) {
	s := Take()
	go time.Sleep(50 * time.Millisecond)
	r := &recorder{TB: t}
	Check(r, s)
	if len(r.errs) != 0 {
		t.Fatalf("Check reported %q for a goroutine that ends within the grace period", r.errs)
	}
}

func TestParse(t *testing.T) {
	g, ok := parse("goroutine 7 [chan receive, 2 minutes]:\npkg.fn(0x1)\n\t/f.go:12 +0x34\ncreated by pkg.other in goroutine 1\n\t/f.go:40 +0x56")
	if !ok || g.id != "goroutine 7" || g.state != "chan receive" || len(g.funcs) != 1 || g.funcs[0] != "pkg.fn" {
		t.Fatalf("parse = %+v, %v", g, ok)
	}
	if _, ok := parse("not a stack"); ok {
		t.Fatal("parse accepted a line that is no goroutine header")
	}
}

func TestMain(m *testing.M) { VerifyTestMain(m) }

func ExampleCheck() {
	t := &testing.T{} // in a real test, the test's own *testing.T
	s := Take()
	done := make(chan struct{})
	go func() { close(done) }()
	<-done
	Check(t, s)
	fmt.Println("no goroutine left:", !t.Failed())
	// Output: no goroutine left: true
}

// FuzzParse: any text is parsed without a panic, and what parses has a
// goroutine header.
func FuzzParse(f *testing.F) {
	f.Add("goroutine 7 [chan receive, 2 minutes]:\npkg.fn(0x1)\n\t/f.go:12 +0x34\ncreated by pkg.other in goroutine 1")
	f.Add("goroutine 1 [running]:\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, entry string) {
		g, ok := parse(entry)
		if ok && !strings.HasPrefix(g.id, "goroutine ") {
			t.Fatalf("parsed %q as %+v", entry, g)
		}
	})
}
