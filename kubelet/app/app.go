// Package app wires the node agent's process together: it loads the
// options, opens the one CRI connection, builds the pod sync engine, and
// starts the pod source, the health endpoint and, with a kubeconfig, the
// node side, mirror pods and pod status, and the kubelet API.
package app

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubeadmin/kubeadmin/internal/constants"
	"github.com/kubeadmin/kubeadmin/internal/procutil"
	"github.com/kubeadmin/kubeadmin/kubelet"
	"github.com/kubeadmin/kubeadmin/kubelet/admission"
	"github.com/kubeadmin/kubeadmin/kubelet/certificate"
	"github.com/kubeadmin/kubeadmin/kubelet/cri"
	"github.com/kubeadmin/kubeadmin/kubelet/node"
	"github.com/kubeadmin/kubeadmin/kubelet/objects"
	"github.com/kubeadmin/kubeadmin/kubelet/options"
	"github.com/kubeadmin/kubeadmin/kubelet/podsource"
	"github.com/kubeadmin/kubeadmin/kubelet/podstatus"
	"github.com/kubeadmin/kubeadmin/kubelet/server"
	"github.com/kubeadmin/kubeadmin/kubelet/stats"
)

// The engine and the runtime connection plug into the peers directly.
var (
	_ podstatus.Provider = (*kubelet.Agent)(nil)
	_ podstatus.Node     = (*node.Node)(nil)
	_ podstatus.PodStore = (*podsource.API)(nil)
	_ server.Provider    = (*kubelet.Agent)(nil)
	_ ReportProvider     = (*kubelet.Agent)(nil)
	_ node.Runtime       = (*cri.Remote)(nil)
	_ server.Streamer    = (*cri.Remote)(nil)
	_ sandboxRuntime     = (*cri.Remote)(nil)
)

// Run runs the agent until ctx ends: the static pods always, and, when a
// usable kubeconfig is given, the node registration, status, lease,
// mirror pods and the kubelet API on port 10250.
func Run(ctx context.Context, flags options.Flags, logger *log.Logger) error {
	leanHeap()
	cfg, err := options.Load(flags)
	if err != nil {
		return err
	}
	rt, err := cri.NewRemote(cfg.RuntimeEndpoint)
	if err != nil {
		return err
	}
	defer rt.Close()
	stopLogRotation, err := startLogRotation(ctx, cfg, rt, logger)
	if err != nil {
		return err
	}
	defer stopLogRotation()
	// Once started, give back the pages of the shared binary that only
	// start-up touched.
	t := time.AfterFunc(constants.ReleaseStartupPagesAfter, func() {
		if n, err := procutil.TryReleaseStartupPages(); err != nil {
			logger.Printf("start-up pages kept: %v", err)
		} else {
			logger.Printf("gave back %d KiB of start-up pages", n>>10)
		}
	})
	defer t.Stop()

	var client kubernetes.Interface
	var restCfg *rest.Config
	if !cfg.Standalone {
		if restCfg, client, err = loadClient(ctx, cfg, logger); err != nil {
			if ctx.Err() != nil {
				// Stopped while waiting for the TLS bootstrap.
				return nil
			}
			return err
		}
	}
	apiServer, nodeIP, err := nodeAddress(cfg, restCfg)
	if err != nil {
		return err
	}
	src := podsource.New(cfg.StaticPodPath, cfg.NodeName, cfg.FileCheckFrequency, logger.Printf)
	eo := engineOptions(cfg, nodeIP)
	eo.SourceErr = src.Err
	var cs *clusterSide
	if client != nil {
		if cs, err = newClusterSide(ctx, cfg, nodeIP, apiServer, client, rt, logger); err != nil {
			return err
		}
		defer cs.stopEvents()
		cs.engineOptions(&eo)
	}
	agent := kubelet.New(eo, rt, rt, logger)
	go reportSandboxImage(ctx, rt, cfg.PodInfraContainerImage, logger.Printf)
	health := &Health{}
	if cs != nil {
		if err := cs.start(ctx, agent, health); err != nil {
			return err
		}
	}
	return runEngine(ctx, cfg, agent, src, health, logger)
}

// gcPercent is the agent's GOGC: its live heap is small (about 10 MiB with
// 30 pods) and its allocation rate low, so collecting at half the heap's
// growth instead of Go's default 100 % keeps several MiB less resident for
// little CPU. GOGC in the environment still wins.
const gcPercent = 50

func leanHeap() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// nodeAddress is the API server's URL ("" when standalone) and the one
// node IP that the engine (host IP and env of the pods), the Node
// (InternalIP), the pod statuses and the serving certificate all use:
// --node-ip, else the local address that reaches the API server.
func nodeAddress(cfg *options.Config, restCfg *rest.Config) (apiServer, nodeIP string, err error) {
	if restCfg != nil {
		apiServer = restCfg.Host
	}
	nodeIP, err = node.ChooseNodeIP(cfg.NodeIP, apiServer)
	return apiServer, nodeIP, err
}

// engineOptions are the engine's options for cfg.
func engineOptions(cfg *options.Config, nodeIP string) kubelet.Options {
	return kubelet.Options{
		NodeName: cfg.NodeName, NodeIP: nodeIP, RootDir: cfg.RootDir,
		PodLogsDir: cfg.PodLogsDir, CgroupRoot: cfg.CgroupRoot,
		ClusterDNS: cfg.ClusterDNS, ClusterDomain: cfg.ClusterDomain, ResolvConf: cfg.ResolvConf,
		SyncFrequency:  cfg.Kubelet.SyncFrequency.Duration,
		MemoryCapacity: node.MemTotal(), CPUCapacityMilli: node.CPUCapacityMilli(),
		RuntimeEndpoint: cfg.RuntimeEndpoint, StaticPodPath: cfg.StaticPodPath,
	}
}

// runEngine serves the health endpoint, starts the pod source src and runs
// the engine until ctx ends or the health server fails.
func runEngine(ctx context.Context, cfg *options.Config, agent *kubelet.Agent, src *podsource.Source, health *Health, logger *log.Logger) error {
	for _, w := range cfg.Warnings {
		logger.Printf("warning: %s", w)
	}
	logger.Printf("node agent starting: node %q, static pods from %q, runtime %q, cgroup parent %q",
		cfg.NodeName, cfg.StaticPodPath, cfg.RuntimeEndpoint, cfg.CgroupRoot)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		fatal error
	)
	if cfg.HealthzAddress != "" {
		srvErr := make(chan error, 1)
		srv, err := serveHealthz(cfg.HealthzAddress, agent, health, srvErr)
		if err != nil {
			return err
		}
		defer srv.Close()
		go func() {
			select {
			case err := <-srvErr:
				mu.Lock()
				fatal = err
				mu.Unlock()
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	// With no staticPodPath the source sends nothing, and the engine then
	// never stops the pods it finds.
	go src.Run(ctx)
	err := agent.Run(ctx, src.Updates())
	mu.Lock()
	defer mu.Unlock()
	if fatal != nil {
		return fatal
	}
	return err
}

// loadClient is the agent's API server client: kubelet.conf, bootstrapped
// first with --bootstrap-kubeconfig when it is missing or its certificate
// has expired (this blocks until the certificate is issued), and, with
// rotateCertificates, following the rotated client certificate. Without
// either kubeconfig it returns no client and the agent runs the static
// pods only.
func loadClient(ctx context.Context, cfg *options.Config, logger *log.Logger) (*rest.Config, kubernetes.Interface, error) {
	restCfg, err := certificate.ClientConfig(ctx, clientCertOptions(cfg, logger))
	if errors.Is(err, certificate.ErrStandalone) {
		logger.Printf("%v: running standalone (static pods only)", err)
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	restCfg.QPS, restCfg.Burst = constants.ClientQPS, constants.ClientBurst
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create a client from %q: %w", cfg.KubeConfig, err)
	}
	return restCfg, client, nil
}

// nodeOptions are the node side's options: registration with the
// configured labels, taints and pods capacity, and nodeIP as InternalIP.
func nodeOptions(cfg *options.Config, nodeIP, apiServer string, client kubernetes.Interface, rt node.Runtime, logger *log.Logger) node.Options {
	return node.Options{
		NodeName: cfg.NodeName, NodeIP: nodeIP, APIServer: apiServer, Client: client,
		Runtime: rt, Labels: cfg.NodeLabels, Taints: cfg.RegisterTaints, MaxPods: cfg.MaxPods,
		KubeletPort: int(cfg.Kubelet.Port), RootDir: cfg.RootDir, Logger: logger,
	}
}

// podStatusOptions are the mirror pod and pod status loop's options.
func podStatusOptions(cfg *options.Config, nodeIP string, client kubernetes.Interface, pods podstatus.PodStore, logger *log.Logger) podstatus.Options {
	return podstatus.Options{NodeName: cfg.NodeName, NodeIP: nodeIP, Client: client, Pods: pods, Logger: logger}
}

// serverOptions are the kubelet API's options; nodeIP goes into the
// serving certificate.
func serverOptions(cfg *options.Config, nodeIP string, client kubernetes.Interface, health *Health, logger *log.Logger) server.Options {
	kc := cfg.Kubelet
	return server.Options{
		NodeName: cfg.NodeName, NodeIP: nodeIP, Address: kc.Address, Port: int(kc.Port),
		TLSCertFile: kc.TLSCertFile, TLSKeyFile: kc.TLSPrivateKeyFile, CertDir: certDir(cfg),
		ClientCAFile:            kc.Authentication.X509.ClientCAFile,
		WebhookAuthentication:   kc.Authentication.Webhook.Enabled != nil && *kc.Authentication.Webhook.Enabled,
		AnonymousAuthentication: kc.Authentication.Anonymous.Enabled != nil && *kc.Authentication.Anonymous.Enabled,
		AuthorizationMode:       string(kc.Authorization.Mode),
		Client:                  client, PodLogsDir: cfg.PodLogsDir, Logger: logger,
		Failures: health.Failures,
	}
}

// clusterSide is what the agent does with an API server: the node
// object, the pods bound to it, the objects they read, events, pod
// status and the kubelet API.
type clusterSide struct {
	cfg        *options.Config
	nodeIP     string
	client     kubernetes.Interface
	rt         *cri.Remote
	logger     *log.Logger
	node       *node.Node
	pods       *podsource.API
	objects    *objects.Manager
	recorder   record.EventRecorder
	stopEvents func()
	agent      atomic.Pointer[kubelet.Agent]
}

func newClusterSide(ctx context.Context, cfg *options.Config, nodeIP, apiServer string, client kubernetes.Interface, rt *cri.Remote, logger *log.Logger) (*clusterSide, error) {
	cs := &clusterSide{cfg: cfg, nodeIP: nodeIP, client: client, rt: rt, logger: logger}
	cs.recorder, cs.stopEvents = newRecorder(ctx, client, cfg.NodeName)
	no := nodeOptions(cfg, nodeIP, apiServer, client, rt, logger)
	no.Recorder = cs.recorder
	n, err := node.New(no)
	if err != nil {
		cs.stopEvents()
		return nil, err
	}
	cs.node = n
	cs.pods = podsource.NewAPI(client, cfg.NodeName)
	cs.objects = objects.New(objects.Options{Client: client, Logger: logger, Notify: func(uids []types.UID) {
		if a := cs.agent.Load(); a != nil {
			a.Poke(uids)
		}
	}})
	return cs, nil
}

// engineOptions adds the cluster side to the engine's options.
func (cs *clusterSide) engineOptions(eo *kubelet.Options) {
	eo.APIPods, eo.Recorder, eo.Sources = true, cs.recorder, cs.objects
	eo.Admit = cs.admit
}

// admit runs admission against the Node as last seen; a pod it would
// reject is admitted again against the Node read now, since the Node the
// node loop keeps can be seconds older than the one the scheduler placed
// the pod by (a label set just before).
func (cs *clusterSide) admit(pod *v1.Pod, admitted []*v1.Pod) (bool, string, string) {
	r := admitWithFreshNode(pod, admitted, cs.node.Object(), cs.readNode)
	return r.Admit, r.Reason, r.Message
}

// readNode reads this node's Node from the API server (nil on error).
func (cs *clusterSide) readNode() *v1.Node {
	ctx, cancel := context.WithTimeout(context.Background(), constants.ClientHTTPTimeout)
	defer cancel()
	n, err := cs.client.CoreV1().Nodes().Get(ctx, cs.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return n
}

// admitWithFreshNode admits pod against cached and, if that rejects it (or
// there is no cached Node), against the Node read returns.
func admitWithFreshNode(pod *v1.Pod, admitted []*v1.Pod, cached *v1.Node, read func() *v1.Node) admission.Result {
	if cached != nil {
		if r := admission.Admit(pod, cached, admitted); r.Admit {
			return r
		}
	}
	fresh := read()
	if fresh == nil {
		fresh = cached
	}
	return admission.Admit(pod, fresh, admitted)
}

// start binds the kubelet API (a taken port is an error here) and starts
// the node, pod source, objects, pod status and kubelet-API loops in the
// background; a loop that stops before ctx ends marks health failed.
func (cs *clusterSide) start(ctx context.Context, agent *kubelet.Agent, health *Health) error {
	cs.agent.Store(agent)
	so := serverOptions(cs.cfg, cs.nodeIP, cs.client, health, cs.logger)
	if err := cs.servingCertificate(ctx, &so); err != nil {
		return err
	}
	so.Stats = stats.New(cs.rt, stats.Options{NodeName: cs.cfg.NodeName, CgroupRoot: cs.cfg.CgroupRoot, RootDir: cs.cfg.RootDir})
	api, err := server.Listen(so, agent, cs.rt)
	if err != nil {
		return err
	}
	go cs.pods.Run(ctx)
	go cs.objects.Run(ctx)
	go feedAPIPods(ctx, cs.pods, agent)
	runPart(ctx, partNode, cs.node.Run, health, cs.logger)
	if cs.cfg.PodNetwork == options.PodNetworkBuiltin {
		runPart(ctx, partNetwork, func(ctx context.Context) error {
			return runPodNetwork(ctx, cs.client, cs.cfg.NodeName, cs.logger)
		}, health, cs.logger)
	}
	runPart(ctx, partPodStatus, func(ctx context.Context) error {
		return podstatus.Run(ctx, podStatusOptions(cs.cfg, cs.nodeIP, cs.client, cs.pods, cs.logger), agent, cs.node)
	}, health, cs.logger)
	runPart(ctx, partKubeletAPI, api.Serve, health, cs.logger)
	return nil
}

// The agent's long-running parts, as /healthz names them.
const (
	partNode       = "node loop (registration, status, lease)"
	partPodStatus  = "pod status loop (mirror pods, status writes)"
	partKubeletAPI = "kubelet API"
	partNetwork    = "pod network (CNI configuration, routes, masquerade)"
)

// errPartStopped is the failure of a part that returned without an error
// before the agent stopped.
var errPartStopped = errors.New("stopped unexpectedly")

// runPart runs run in the background; when it returns before ctx ends,
// the error is logged and recorded in health.
func runPart(ctx context.Context, part string, run func(context.Context) error, health *Health, logger *log.Logger) {
	go func() {
		err := run(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errPartStopped
		}
		logger.Printf("%s failed: %v; /healthz reports it until the agent restarts", part, err)
		health.Fail(part, err)
	}()
}
