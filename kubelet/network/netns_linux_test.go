package network

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// netnsEnv marks the re-executed test binary that runs inside a private
// network namespace (unshare -n), where it may change routes, links and
// iptables without touching the host's.
const netnsEnv = "KUBEADMIN_NETWORK_TEST_NETNS"

// inNetns re-runs the calling test in a throwaway network namespace and
// reports whether the caller is that re-run. Outside it, it runs the
// child and returns false; the test should then return.
func inNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) == "1" {
		return true
	}
	if os.Getuid() != 0 {
		t.Skip("needs root for a private network namespace")
	}
	for _, bin := range []string{"unshare", "ip", iptablesPath} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not found", bin)
		}
	}
	cmd := exec.Command("unshare", "-n", "--", os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in a private network namespace: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the test did not run in the namespace:\n%s", out)
	}
	return false
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func ourRoutes(t *testing.T) []Route {
	t.Helper()
	ours, _, err := mainRoutes(afInet)
	if err != nil {
		t.Fatal(err)
	}
	sortRoutes(ours)
	return ours
}

func TestHostDataplaneInNamespace(t *testing.T) {
	if !inNetns(t) {
		return
	}
	sh(t, "ip", "link", "set", "lo", "up")
	sh(t, "ip", "link", "add", "kad0", "type", "veth", "peer", "name", "kad1")
	sh(t, "ip", "addr", "add", "10.77.0.2/24", "dev", "kad0")
	sh(t, "ip", "link", "set", "kad1", "up")
	sh(t, "ip", "link", "set", "kad0", "up")
	sh(t, "ip", "route", "add", "10.244.9.0/24", "via", "10.77.0.9") // someone else's
	ctx := context.Background()
	h := &hostDataplane{ipt: iptables{run: execRunner}, logger: Options{}.logger()}

	err := h.syncRoutes(ctx, []Route{
		route("10.244.1.0/24", "10.77.0.3"),
		route("10.244.2.0/24", "10.77.0.4"),
		route("10.244.9.0/24", "10.77.0.5"),
	})
	if err == nil || !strings.Contains(err.Error(), "10.244.9.0/24") {
		t.Errorf("sync over a foreign route: %v, want an error naming it", err)
	}
	if got, want := ourRoutes(t), []Route{route("10.244.1.0/24", "10.77.0.3"), route("10.244.2.0/24", "10.77.0.4")}; !reflect.DeepEqual(got, want) {
		t.Errorf("our routes %v, want %v", got, want)
	}
	if out := sh(t, "ip", "route", "show", "proto", "107"); !strings.Contains(out, "10.244.1.0/24 via 10.77.0.3") {
		t.Errorf("ip route show proto 107:\n%s", out)
	}

	// A changed gateway and a gone node; the foreign route stays.
	if err := h.syncRoutes(ctx, []Route{route("10.244.1.0/24", "10.77.0.8")}); err != nil {
		t.Fatal(err)
	}
	if got, want := ourRoutes(t), []Route{route("10.244.1.0/24", "10.77.0.8")}; !reflect.DeepEqual(got, want) {
		t.Errorf("our routes %v, want %v", got, want)
	}
	if out := sh(t, "ip", "route"); !strings.Contains(out, "10.244.9.0/24 via 10.77.0.9") {
		t.Errorf("the foreign route is gone:\n%s", out)
	}

	// The rules twice: one jump, our chain as rendered.
	rules := MasqueradeRules("10.244.0.0/24", []string{"10.244.0.0/16"})
	for i := 0; i < 2; i++ {
		if err := h.syncMasquerade(ctx, rules); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(sh(t, iptablesPath, "-t", "nat", "-S", "POSTROUTING"), MasqueradeChain); n != 1 {
		t.Errorf("%d jumps to %s, want 1", n, MasqueradeChain)
	}
	if out := sh(t, iptablesPath, "-t", "nat", "-S", MasqueradeChain); !strings.Contains(out, "-A KUBEADMIN-POSTROUTING -s 10.244.0.0/24 -j MASQUERADE") {
		t.Errorf("chain:\n%s", out)
	}

	// Cleanup removes ours only, and a second run finds nothing to do.
	dir := t.TempDir()
	conf := filepath.Join(dir, ConfFileName)
	other := filepath.Join(dir, "05-other.conf")
	for _, p := range []string{conf, other} {
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sh(t, "ip", "link", "add", BridgeName, "type", "bridge")
	for i := 0; i < 2; i++ {
		if err := Cleanup(dir); err != nil {
			t.Fatalf("Cleanup run %d: %v", i+1, err)
		}
	}
	if got := ourRoutes(t); len(got) != 0 {
		t.Errorf("routes left after Cleanup: %v", got)
	}
	if out := sh(t, "ip", "route"); !strings.Contains(out, "10.244.9.0/24 via 10.77.0.9") {
		t.Errorf("Cleanup removed a foreign route:\n%s", out)
	}
	if strings.Contains(sh(t, iptablesPath, "-t", "nat", "-S"), MasqueradeChain) {
		t.Error("the masquerade chain or its jump is left")
	}
	if err := exec.Command("ip", "link", "show", BridgeName).Run(); err == nil {
		t.Errorf("%s is left", BridgeName)
	}
	if _, err := os.Stat(conf); !os.IsNotExist(err) {
		t.Errorf("conflist left: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("Cleanup removed another file: %v", err)
	}
}
