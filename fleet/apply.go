package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/kubeadmin/kubeadmin/fleet/hostprep"
	"github.com/kubeadmin/kubeadmin/fleet/inventory"
	"github.com/kubeadmin/kubeadmin/fleet/phase"
	"github.com/kubeadmin/kubeadmin/fleet/remote"
)

// ApplyOptions are `fleet apply`'s flags.
type ApplyOptions struct {
	Options
	// KubeconfigOut, if set, receives the admin kubeconfig at the end.
	KubeconfigOut string
}

// Apply converges the hosts to the inventory: it prepares every host
// (kubeadmin, containerd, images), initializes the control plane if it is
// not, joins the workers that are not in the cluster, sets labels and
// taints, and drains, deletes and resets the hosts marked reset: true.
// A host already as the inventory says is left alone.
func Apply(ctx context.Context, o ApplyOptions) error {
	start := time.Now()
	f, err := open(o.Options)
	if err != nil {
		return err
	}
	defer f.close()
	binary, err := f.inv.KubeadminBinary()
	if err != nil {
		return err
	}
	bundle := f.inv.ImageBundle()
	manifest, err := hostprep.BundleManifest(bundle)
	if err != nil {
		return err
	}
	kept := func(hs []string) []string { return f.only(hs, func(h *inventory.Resolved) bool { return !h.Reset }) }
	r := f.runner()
	p := newProvisioner(f, r, binary, bundle, manifest)
	phases := []phase.Phase{
		{Title: "connect", Run: f.connect},
		{Title: "facts", Run: f.gatherFacts},
		// One phase, so that the control plane's init does not wait for
		// the workers' images, nor their joins for each other.
		{Title: "provision", Hosts: func(hs []string) []string { return p.hosts(kept(hs)) }, Run: p.provision},
		{Title: "cluster credentials", Once: f.credentials},
		{Title: "labels and taints", Hosts: kept, Run: f.labelsAndTaints},
		{Title: "reset", Hosts: func(hs []string) []string { return f.only(hs, func(h *inventory.Resolved) bool { return h.Reset }) }, Run: f.resetHost},
		{Title: "kubeconfig", Once: func(ctx context.Context) error { return f.writeKubeconfig(o.KubeconfigOut) }},
	}
	err = r.Run(ctx, names(f.hosts), phases)
	f.summary(r, time.Since(start))
	return err
}

// provisioner makes hosts ready and brings them into the cluster: the
// control plane is prepared and initialized while the workers are
// prepared; each worker joins as soon as it is ready and the control plane
// is up. The workers' images wait for the control plane's: those are on
// the way to init, and the uploads share the operator's link (and, on
// hosts that share a machine, its cores).
type provisioner struct {
	f        *fleet
	r        *phase.Runner
	binary   string
	bundle   string
	manifest *hostprep.Manifest
	uploads  chan struct{} // bounds the uploads in flight

	cpDone      chan struct{} // closed once the control plane is initialized (or failed)
	cpImages    chan struct{} // closed once the control plane's images are in (or it failed)
	cpImagesEnd sync.Once
	cpErr       error
	credErr     error
	cred        sync.Once
}

func newProvisioner(f *fleet, r *phase.Runner, binary, bundle string, manifest *hostprep.Manifest) *provisioner {
	return &provisioner{f: f, r: r, binary: binary, bundle: bundle, manifest: manifest,
		uploads: make(chan struct{}, f.inv.UploadsParallel()), cpDone: make(chan struct{}), cpImages: make(chan struct{})}
}

// hosts orders the hosts to provision, the control plane first (so that
// it never waits for a slot that a worker waiting for it holds). Without
// the control plane among them (it failed earlier), the workers are told
// at once.
func (p *provisioner) hosts(hs []string) []string {
	cp := p.f.controlPlane()
	out := make([]string, 0, len(hs))
	for _, h := range hs {
		if h == cp {
			out = append([]string{cp}, out...)
		} else {
			out = append(out, h)
		}
	}
	if len(out) == 0 || out[0] != cp {
		p.cpErr = fmt.Errorf("the control plane %s is not in this run", cp)
		close(p.cpDone)
		p.controlPlaneImagesEnded()
	}
	return out
}

// timed runs a step of h and records its time in the summary.
func (p *provisioner) timed(h, title string, run func() error) error {
	start := time.Now()
	err := run()
	p.r.Record(h, title, time.Since(start))
	if err != nil {
		return fmt.Errorf("%s: %w", title, err)
	}
	return nil
}

func (p *provisioner) provision(ctx context.Context, h string) error {
	f := p.f
	cp := h == f.controlPlane()
	if cp {
		defer close(p.cpDone)
		defer p.controlPlaneImagesEnded()
	}
	err := p.prepare(ctx, h)
	if cp {
		if err == nil {
			err = p.timed(h, "init", func() error { return f.initControlPlane(ctx, h) })
		}
		p.cpErr = err
		return err
	}
	if err != nil {
		return err
	}
	select {
	case <-p.cpDone:
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.cpErr != nil {
		return fmt.Errorf("not joined: the control plane %s failed", f.controlPlane())
	}
	p.cred.Do(func() { p.credErr = f.credentials(ctx) })
	if p.credErr != nil {
		return p.credErr
	}
	if len(f.toJoin([]string{h})) == 0 {
		return nil
	}
	return p.timed(h, "join", func() error { return f.join(ctx, h) })
}

// prepare uploads kubeadmin, sets up containerd and imports the images.
func (p *provisioner) prepare(ctx context.Context, h string) error {
	f := p.f
	upload := func(run func() (bool, error)) func() (bool, error) {
		return func() (bool, error) {
			p.uploads <- struct{}{}
			defer func() { <-p.uploads }()
			return run()
		}
	}
	if err := hostprep.CheckBinaryArch(p.binary, f.fact(h)); err != nil {
		return err
	}
	if err := p.timed(h, "kubeadmin binary", func() error {
		return f.step(h, "kubeadmin uploaded", upload(func() (bool, error) {
			return hostprep.InstallKubeadmin(ctx, f.conn(h), p.binary, f.progress(h, "kubeadmin"))
		}))
	}); err != nil {
		return err
	}
	if err := p.timed(h, "containerd", func() error {
		if err := f.step(h, "IP forwarding on", func() (bool, error) {
			return hostprep.EnsureIPForward(ctx, f.conn(h), f.fact(h))
		}); err != nil {
			return err
		}
		return f.step(h, "containerd configured", func() (bool, error) {
			return hostprep.EnsureContainerd(ctx, f.conn(h), f.fact(h), f.sandboxImage())
		})
	}); err != nil {
		return err
	}
	role := string(f.byName[h].Role)
	images := hostprep.ImagesFor(role, p.manifest)
	if h == f.controlPlane() {
		defer p.controlPlaneImagesEnded()
	} else {
		select {
		case <-p.cpImages:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return p.timed(h, "images", func() error {
		return f.step(h, "images imported", upload(func() (bool, error) {
			return hostprep.EnsureImages(ctx, f.conn(h), p.bundle, images, hostprep.UnpackAtImport(role), f.progress(h, "images"))
		}))
	})
}

// controlPlaneImagesEnded lets the workers' images go.
func (p *provisioner) controlPlaneImagesEnded() {
	p.cpImagesEnd.Do(func() { close(p.cpImages) })
}

// only keeps the hosts of hs for which keep is true.
func (f *fleet) only(hs []string, keep func(*inventory.Resolved) bool) []string {
	var out []string
	for _, h := range hs {
		if keep(f.byName[h]) {
			out = append(out, h)
		}
	}
	return out
}

// pick selects name if it is still in the run.
func (f *fleet) pick(name string) func([]string) []string {
	return func(hs []string) []string {
		for _, h := range hs {
			if h == name {
				return []string{name}
			}
		}
		return nil
	}
}

// step runs one idempotent preparation and records it if it changed
// something.
func (f *fleet) step(h, what string, run func() (bool, error)) error {
	changed, err := run()
	if err == nil && changed {
		f.note(h, what)
	}
	return err
}

// progress prints an upload's progress at every tenth.
func (f *fleet) progress(h, what string) func(done, total int64) {
	last := int64(-1)
	return func(done, total int64) {
		if total <= 0 {
			return
		}
		tenth := done * 10 / total
		if tenth == last {
			return
		}
		last = tenth
		fmt.Fprintf(f.out, "[fleet] %s: uploading %s %d%% of %d MiB\n", h, what, tenth*10, total>>20)
	}
}

// initControlPlane runs `kubeadmin init` unless the control plane already
// serves; an unfinished earlier init is reset first.
func (f *fleet) initControlPlane(ctx context.Context, h string) error {
	facts := f.fact(h)
	if facts.AdminConf && facts.StaticPods {
		return nil
	}
	if len(facts.KubeadminLeftovers) > 0 {
		fmt.Fprintf(f.out, "[fleet] %s: an earlier init did not finish; resetting it first\n", h)
		if _, err := f.kubeadmin(ctx, h, nil, "reset", "-f"); err != nil {
			return err
		}
	}
	// init creates the workers' token: it exists as soon as the API
	// server does, and the joins need no extra step on the control plane.
	token, err := bootstraputil.GenerateBootstrapToken()
	if err != nil {
		return fmt.Errorf("failed to generate a bootstrap token: %w", err)
	}
	cfg, err := f.inv.InitConfigYAML(f.byName[h], token)
	if err != nil {
		return err
	}
	f.setToken(token)
	if err := f.writeFile(ctx, h, remoteInitConfig, cfg); err != nil {
		return err
	}
	fmt.Fprintf(f.out, "[fleet] %s: initializing the control plane\n", h)
	_, err = f.kubeadmin(ctx, h, nil, "init", "--config", remoteInitConfig)
	// The file holds the token: it goes, however init ended.
	_, _ = f.conn(h).Run(ctx, "rm -f "+remoteInitConfig, remote.RunOptions{})
	if err != nil {
		return err
	}
	f.note(h, "initialized")
	fmt.Fprintf(f.out, "[fleet] %s: initialized the control plane\n", h)
	return nil
}

// credentials reads admin.conf and waits for the API server, once.
func (f *fleet) credentials(ctx context.Context) error {
	f.mu.Lock()
	done := f.client != nil
	f.mu.Unlock()
	if done {
		return nil
	}
	if err := f.loadAdmin(ctx); err != nil {
		return err
	}
	if err := f.waitAPI(ctx); err != nil {
		return err
	}
	return nil
}

// waitAPI waits until the API server answers.
func (f *fleet) waitAPI(ctx context.Context) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, apiWait, true, func(ctx context.Context) (bool, error) {
		_, last = f.client.Discovery().ServerVersion()
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the API server at %s did not answer within %s: %v", f.inv.APIServerEndpoint(f.hosts.ControlPlane()), apiWait, last)
	}
	return nil
}

// node is the host's Node, nil when it has none.
func (f *fleet) node(ctx context.Context, h string) (*corev1.Node, error) {
	n, err := f.client.CoreV1().Nodes().Get(ctx, f.nodeName(h), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return n, err
}

// toJoin are the workers of hs that are not in the cluster yet.
func (f *fleet) toJoin(hs []string) []string {
	var out []string
	for _, h := range hs {
		if f.byName[h].Role != inventory.RoleWorker {
			continue
		}
		n, err := f.node(context.Background(), h)
		if err != nil || n == nil || !f.fact(h).KubeletConf {
			out = append(out, h)
		}
	}
	return out
}

// join adds a worker with a token made for this run.
func (f *fleet) join(ctx context.Context, h string) error {
	token, err := f.joinToken(ctx)
	if err != nil {
		return err
	}
	if len(f.fact(h).KubeadminLeftovers) > 0 {
		fmt.Fprintf(f.out, "[fleet] %s: an earlier join did not finish; resetting it first\n", h)
		if _, err := f.kubeadmin(ctx, h, nil, "reset", "-f"); err != nil {
			return err
		}
		// Its agent may have registered the Node before the reset: that
		// Node would stay Ready for a while and the join would refuse its
		// name.
		if err := f.client.CoreV1().Nodes().Delete(ctx, f.nodeName(h), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete the Node %q left by the earlier join: %w", f.nodeName(h), err)
		}
	}
	disc, err := f.discoveryConfig()
	if err != nil {
		return err
	}
	cfg, err := f.inv.JoinConfigYAML(f.byName[h], remoteDiscoveryConfig, token)
	if err != nil {
		return err
	}
	if err := f.writeFile(ctx, h, remoteDiscoveryConfig, disc); err != nil {
		return err
	}
	if err := f.writeFile(ctx, h, remoteJoinConfig, cfg); err != nil {
		return err
	}
	fmt.Fprintf(f.out, "[fleet] %s: joining the cluster\n", h)
	// A failed join removes what it wrote, so it is tried again once (a
	// busy API server may miss a deadline).
	for attempt := 1; ; attempt++ {
		_, err = f.kubeadmin(ctx, h, nil, "join", "--config", remoteJoinConfig)
		if err == nil || attempt == joinAttempts || ctx.Err() != nil {
			break
		}
		fmt.Fprintf(f.out, "[fleet] %s: join failed (%v); trying again\n", h, err)
	}
	// The join file holds the token: it goes, however the join ended.
	_, _ = f.conn(h).Run(ctx, "rm -f "+remoteJoinConfig+" "+remoteDiscoveryConfig, remote.RunOptions{})
	if err != nil {
		return err
	}
	f.note(h, "joined")
	fmt.Fprintf(f.out, "[fleet] %s: joined as a worker\n", h)
	return nil
}

// joinToken creates, once per run, the bootstrap token the joins use.
func (f *fleet) joinToken(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.token != "" {
		return f.token, nil
	}
	cp := f.controlPlane()
	res, err := f.conns[cp].Run(ctx, fmt.Sprintf("%s token create --ttl %s --description %q", hostprep.RemoteKubeadmin, inventory.FleetTokenTTL, inventory.FleetTokenDescription), remote.RunOptions{})
	if err != nil {
		return "", err
	}
	token := strings.TrimSpace(res.Stdout)
	if token == "" {
		return "", errors.New("kubeadmin token create printed no token")
	}
	f.redactToken(token)
	return token, nil
}

// setToken makes token the run's join token.
func (f *fleet) setToken(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redactToken(token)
}

// redactToken records the token and hides it in every host's output;
// f.mu is held.
func (f *fleet) redactToken(token string) {
	for _, c := range f.conns {
		c.Redact(token)
	}
	f.token = token
}

// labelsAndTaints makes the Node carry the inventory's labels and taints.
// The Node changes under us (the agent's status, the node controller's
// taints): each conflict is retried with the Node read again.
func (f *fleet) labelsAndTaints(ctx context.Context, h string) error {
	host := f.byName[h].Host
	if len(host.Labels) == 0 && len(host.Taints) == 0 {
		return nil
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := f.node(ctx, h)
		return err == nil && n != nil, nil
	})
	if err != nil {
		return fmt.Errorf("the Node %q did not appear: %w", f.nodeName(h), err)
	}
	changed := false
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := f.node(ctx, h)
		if err != nil || n == nil {
			return fmt.Errorf("failed to read Node %q: %v", f.nodeName(h), err)
		}
		if !withLabelsAndTaints(n, host) {
			return nil
		}
		if _, err := f.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to set the labels and taints of Node %q: %w", f.nodeName(h), err)
	}
	if changed {
		f.note(h, "labels and taints set")
	}
	return nil
}

// withLabelsAndTaints adds the host's labels and taints the Node lacks and
// reports whether it changed it.
func withLabelsAndTaints(n *corev1.Node, host *inventory.Host) bool {
	changed := false
	for k, v := range host.Labels {
		if !hasLabel(n.Labels, k, v) {
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels[k], changed = v, true
		}
	}
	for _, t := range host.Taints {
		if !hasTaint(n.Spec.Taints, t) {
			n.Spec.Taints, changed = append(n.Spec.Taints, t), true
		}
	}
	return changed
}

// hasLabel reports whether labels has k set to v (an empty value counts).
func hasLabel(labels map[string]string, k, v string) bool {
	cur, ok := labels[k]
	return ok && cur == v
}

func hasTaint(ts []corev1.Taint, t corev1.Taint) bool {
	for _, x := range ts {
		if x.Key == t.Key && x.Value == t.Value && x.Effect == t.Effect {
			return true
		}
	}
	return false
}

// writeKubeconfig writes the admin kubeconfig to path (0600), if set.
func (f *fleet) writeKubeconfig(path string) error {
	if path == "" {
		return nil
	}
	if err := clientcmd.WriteToFile(*f.adminConfig(), path); err != nil {
		return fmt.Errorf("failed to write the kubeconfig %q: %w", path, err)
	}
	return os.Chmod(path, 0o600)
}

// summary prints the result table and what changed.
func (f *fleet) summary(r *phase.Runner, took time.Duration) {
	fmt.Fprintln(f.out)
	r.PrintSummary(f.out, took)
	changed := f.sortedChanged()
	if len(changed) == 0 {
		fmt.Fprintf(f.out, "[fleet] no changes: every host already matches %s\n", f.opts.File)
		return
	}
	for _, h := range changed {
		f.mu.Lock()
		what := strings.Join(f.changed[h], ", ")
		f.mu.Unlock()
		fmt.Fprintf(f.out, "[fleet] %s: %s\n", h, what)
	}
}
