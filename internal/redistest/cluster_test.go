package redistest

import (
	"testing"
	"time"
)

// TestCluster starts a cluster, kills the master of a key and waits for
// its replica to take over.
func TestCluster(t *testing.T) {
	start := time.Now()
	c := StartCluster(t, ClusterConfig{})
	t.Logf("cluster of %d nodes up in %v", len(c.Addrs), time.Since(start))
	ms, err := c.Masters()
	if err != nil || len(ms) != 3 {
		t.Fatalf("Masters() = %v, %v; want three", ms, err)
	}
	m, err := c.MasterOf("some-key")
	if err != nil {
		t.Fatal(err)
	}
	// Replication is asynchronous: WAIT until the replica has the write,
	// or the failover may lose it.
	if r, err := Pipeline(m, []string{"SET", "some-key", "v"}, []string{"WAIT", "1", "5000"}); err != nil || r[1] != "1" {
		t.Fatalf("SET on the key's master and WAIT for its replica: %v, %v", r, err)
	}
	start = time.Now()
	if err := c.Kill(m); err != nil {
		t.Fatal(err)
	}
	promoted, err := c.WaitFailover(m, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("master %s killed; %s serves its slots after %v", m, promoted, time.Since(start))
	if got, _ := c.MasterOf("some-key"); got != promoted {
		t.Errorf("MasterOf after failover = %s, want %s", got, promoted)
	}
	if v, err := Do(promoted, "GET", "some-key"); err != nil || v != "v" {
		t.Errorf("GET on the promoted replica = %q, %v", v, err)
	}
	if len(c.Live()) != 5 {
		t.Errorf("%d live nodes, want 5", len(c.Live()))
	}
}
