//go:build hostprepmanual

package hostprep

// A hand check against a real host over SSH (not run by go test ./...):
//
//	HOSTPREP_ADDR=10.77.0.2 HOSTPREP_KEY=key HOSTPREP_KNOWN_HOSTS=known_hosts \
//	HOSTPREP_KUBEADMIN=bin/kubeadmin HOSTPREP_BUNDLE=images.tar [HOSTPREP_USER=deploy] \
//	[HOSTPREP_ROLE=worker] go test -tags hostprepmanual -run TestManualPrepare -v ./fleet/hostprep/

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/kubeadmin/kubeadmin/fleet/remote"
)

func TestManualPrepare(t *testing.T) {
	env := func(k string) string {
		v := os.Getenv(k)
		if v == "" && k != "HOSTPREP_USER" && k != "HOSTPREP_ROLE" {
			t.Skipf("%s not set", k)
		}
		return v
	}
	ctx := context.Background()
	t0 := time.Now()
	h, err := remote.Dial(ctx, remote.Target{Address: env("HOSTPREP_ADDR"), User: env("HOSTPREP_USER"),
		IdentityFiles: []string{env("HOSTPREP_KEY")}, KnownHosts: env("HOSTPREP_KNOWN_HOSTS")})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.CheckSudo(ctx); err != nil {
		t.Fatal(err)
	}
	step := func(name string, start time.Time, changed bool) {
		t.Logf("%-18s %6.2fs changed=%v", name, time.Since(start).Seconds(), changed)
	}
	step("dial", t0, false)

	start := time.Now()
	f, err := GatherFacts(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	step("facts", start, false)
	t.Logf("facts: %+v", *f)
	if err := CheckBinaryArch(env("HOSTPREP_KUBEADMIN"), f); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	changed, err := InstallKubeadmin(ctx, h, env("HOSTPREP_KUBEADMIN"), nil)
	if err != nil {
		t.Fatal(err)
	}
	step("install kubeadmin", start, changed)

	m, err := BundleManifest(env("HOSTPREP_BUNDLE"))
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	changed, err = EnsureContainerd(ctx, h, f, m.SandboxImage())
	if err != nil {
		t.Fatal(err)
	}
	step("containerd", start, changed)

	role := env("HOSTPREP_ROLE")
	if role == "" {
		role = "control-plane"
	}
	var last time.Time
	start = time.Now()
	changed, err = EnsureImages(ctx, h, env("HOSTPREP_BUNDLE"), ImagesFor(role, m), UnpackAtImport(role), func(done, total int64) {
		if time.Since(last) > time.Second || done == total {
			last = time.Now()
			t.Logf("  images %3d%% (%d/%d MB)", done*100/total, done>>20, total>>20)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	step("images "+role, start, changed)
	step("total", t0, false)
}
