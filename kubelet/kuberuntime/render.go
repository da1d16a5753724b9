// Package kuberuntime renders the CRI PodSandboxConfig and ContainerConfig of
// a pod: labels, annotations, the container hash, environment, DNS,
// security context and resources. Everything here is pure: no I/O.
package kuberuntime

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	v1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RenderContext is what rendering CRI configs needs besides the pod. All
// rendering is pure: no I/O.
type RenderContext struct {
	Node          string
	NodeIP        string
	PodIP         string
	PodLogsDir    string
	CgroupRoot    string
	ClusterDNS    []string
	ClusterDomain string
	HostDNS       HostDNS
	// MemCapacity is the node's memory in bytes (0 if unknown).
	MemCapacity int64
	// CPUCapacityMilli is the node's CPU in millicores.
	CPUCapacityMilli int64
}

// HostDNS is the host's resolv.conf.
type HostDNS struct {
	Servers, Searches, Options []string
}

// ParseResolvConf reads nameserver, search/domain and options lines.
func ParseResolvConf(data []byte) HostDNS {
	var d HostDNS
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			d.Servers = append(d.Servers, f[1])
		case "search", "domain":
			d.Searches = append([]string(nil), f[1:]...)
		case "options":
			d.Options = append(d.Options, f[1:]...)
		}
	}
	return d
}

// podLogDir is <podLogsDir>/<namespace>_<name>_<uid>.
func PodLogDir(root string, pod *v1.Pod) string {
	return filepath.Join(root, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

// cgroupParent is <cgroupRoot>/pod<uid> (cgroupfs).
func CgroupParent(root string, pod *v1.Pod) string {
	return path.Join(root, "pod"+string(pod.UID))
}

func namespaceOptions(pod *v1.Pod) *runtimeapi.NamespaceOption {
	o := &runtimeapi.NamespaceOption{
		Network: runtimeapi.NamespaceMode_POD,
		Pid:     runtimeapi.NamespaceMode_CONTAINER,
		Ipc:     runtimeapi.NamespaceMode_POD,
	}
	if pod.Spec.HostNetwork {
		o.Network = runtimeapi.NamespaceMode_NODE
	}
	if pod.Spec.HostIPC {
		o.Ipc = runtimeapi.NamespaceMode_NODE
	}
	switch {
	case pod.Spec.HostPID:
		o.Pid = runtimeapi.NamespaceMode_NODE
	case pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace:
		o.Pid = runtimeapi.NamespaceMode_POD
	}
	return o
}

// sandboxConfig renders the RunPodSandbox config of pod.
func SandboxConfig(pod *v1.Pod, attempt uint32, rc *RenderContext) *runtimeapi.PodSandboxConfig {
	cfg := &runtimeapi.PodSandboxConfig{
		Metadata:     &runtimeapi.PodSandboxMetadata{Name: pod.Name, Namespace: pod.Namespace, Uid: string(pod.UID), Attempt: attempt},
		Labels:       sandboxLabels(pod, rc.Node),
		Annotations:  copyMap(pod.Annotations),
		LogDirectory: PodLogDir(rc.PodLogsDir, pod),
		DnsConfig:    dnsConfig(pod, rc),
		PortMappings: portMappings(pod),
		Linux:        sandboxLinux(pod, rc),
	}
	if !pod.Spec.HostNetwork {
		cfg.Hostname = PodHostname(pod)
	}
	return cfg
}

func PodHostname(pod *v1.Pod) string {
	h := pod.Name
	if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func portMappings(pod *v1.Pod) []*runtimeapi.PortMapping {
	var out []*runtimeapi.PortMapping
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			out = append(out, &runtimeapi.PortMapping{
				Protocol:      protocol(p.Protocol),
				ContainerPort: p.ContainerPort,
				HostPort:      p.HostPort,
				HostIp:        p.HostIP,
			})
		}
	}
	return out
}

func protocol(p v1.Protocol) runtimeapi.Protocol {
	switch p {
	case v1.ProtocolUDP:
		return runtimeapi.Protocol_UDP
	case v1.ProtocolSCTP:
		return runtimeapi.Protocol_SCTP
	}
	return runtimeapi.Protocol_TCP
}

// dnsConfig follows the pod's dnsPolicy: ClusterFirst uses clusterDNS
// (falling back to the host's resolv.conf for hostNetwork pods or when no
// clusterDNS is set), Default uses the host's, None only dnsConfig.
func dnsConfig(pod *v1.Pod, rc *RenderContext) *runtimeapi.DNSConfig {
	policy := pod.Spec.DNSPolicy
	if policy == v1.DNSClusterFirst && pod.Spec.HostNetwork {
		policy = v1.DNSDefault
	}
	if (policy == v1.DNSClusterFirst || policy == v1.DNSClusterFirstWithHostNet) && len(rc.ClusterDNS) == 0 {
		policy = v1.DNSDefault
	}
	d := &runtimeapi.DNSConfig{}
	switch policy {
	case v1.DNSDefault:
		d.Servers = append(d.Servers, rc.HostDNS.Servers...)
		d.Searches = append(d.Searches, rc.HostDNS.Searches...)
		d.Options = append(d.Options, rc.HostDNS.Options...)
	case v1.DNSClusterFirst, v1.DNSClusterFirstWithHostNet:
		d.Servers = append(d.Servers, rc.ClusterDNS...)
		if rc.ClusterDomain != "" {
			d.Searches = []string{pod.Namespace + ".svc." + rc.ClusterDomain, "svc." + rc.ClusterDomain, rc.ClusterDomain}
		}
		d.Searches = append(d.Searches, rc.HostDNS.Searches...)
		d.Options = []string{"ndots:5"}
	}
	if pc := pod.Spec.DNSConfig; pc != nil {
		d.Servers = append(d.Servers, pc.Nameservers...)
		d.Searches = append(d.Searches, pc.Searches...)
		for _, o := range pc.Options {
			if o.Value != nil {
				d.Options = append(d.Options, o.Name+":"+*o.Value)
			} else {
				d.Options = append(d.Options, o.Name)
			}
		}
	}
	return d
}

func sandboxLinux(pod *v1.Pod, rc *RenderContext) *runtimeapi.LinuxPodSandboxConfig {
	psc := pod.Spec.SecurityContext
	sc := &runtimeapi.LinuxSandboxSecurityContext{
		NamespaceOptions: namespaceOptions(pod),
		Privileged:       anyPrivileged(pod),
	}
	if psc != nil {
		if psc.RunAsUser != nil {
			sc.RunAsUser = &runtimeapi.Int64Value{Value: *psc.RunAsUser}
		}
		if psc.RunAsGroup != nil {
			sc.RunAsGroup = &runtimeapi.Int64Value{Value: *psc.RunAsGroup}
		}
		sc.SupplementalGroups = supplementalGroups(psc)
		sc.Seccomp = seccomp(psc.SeccompProfile)
	}
	lc := &runtimeapi.LinuxPodSandboxConfig{CgroupParent: CgroupParent(rc.CgroupRoot, pod), SecurityContext: sc}
	if psc != nil && len(psc.Sysctls) > 0 {
		lc.Sysctls = map[string]string{}
		for _, s := range psc.Sysctls {
			lc.Sysctls[s.Name] = s.Value
		}
	}
	return lc
}

func anyPrivileged(pod *v1.Pod) bool {
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
				return true
			}
		}
	}
	return false
}

func supplementalGroups(psc *v1.PodSecurityContext) []int64 {
	var g []int64
	if psc.FSGroup != nil {
		g = append(g, *psc.FSGroup)
	}
	return append(g, psc.SupplementalGroups...)
}

func seccomp(p *v1.SeccompProfile) *runtimeapi.SecurityProfile {
	if p == nil {
		return nil
	}
	switch p.Type {
	case v1.SeccompProfileTypeRuntimeDefault:
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_RuntimeDefault}
	case v1.SeccompProfileTypeUnconfined:
		return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Unconfined}
	case v1.SeccompProfileTypeLocalhost:
		if p.LocalhostProfile != nil {
			return &runtimeapi.SecurityProfile{ProfileType: runtimeapi.SecurityProfile_Localhost, LocalhostRef: *p.LocalhostProfile}
		}
	}
	return nil
}

// Paths masked and made read-only in unprivileged containers, as the
// upstream kubelet's default proc mount.
var (
	defaultMaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	defaultReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// ContainerSpec is everything about one container instance to render.
type ContainerSpec struct {
	Pod          *v1.Pod
	Container    *v1.Container
	Init         bool
	RestartCount int
	ImageRef     string
	Env          []*runtimeapi.KeyValue
	Mounts       []*runtimeapi.Mount
}

// containerConfig renders the CreateContainer config of one container
// instance.
func ContainerConfig(s ContainerSpec, rc *RenderContext) *runtimeapi.ContainerConfig {
	c := s.Container
	vars := map[string]string{}
	for _, kv := range s.Env {
		vars[kv.Key] = string(kv.Value)
	}
	return &runtimeapi.ContainerConfig{
		Metadata:    &runtimeapi.ContainerMetadata{Name: c.Name, Attempt: uint32(s.RestartCount)},
		Image:       &runtimeapi.ImageSpec{Image: s.ImageRef, UserSpecifiedImage: c.Image},
		Command:     expandAll(c.Command, vars),
		Args:        expandAll(c.Args, vars),
		WorkingDir:  c.WorkingDir,
		Envs:        s.Env,
		Mounts:      s.Mounts,
		Labels:      containerLabels(s.Pod, c, rc.Node),
		Annotations: containerAnnotations(s.Pod, c, s.RestartCount, s.Init),
		LogPath:     filepath.Join(c.Name, fmt.Sprintf("%d.log", s.RestartCount)),
		Stdin:       c.Stdin,
		StdinOnce:   c.StdinOnce,
		Tty:         c.TTY,
		Linux: &runtimeapi.LinuxContainerConfig{
			Resources:       containerResources(s.Pod, c, rc),
			SecurityContext: containerSecurity(s.Pod, c),
		},
	}
}

func containerSecurity(pod *v1.Pod, c *v1.Container) *runtimeapi.LinuxContainerSecurityContext {
	psc := pod.Spec.SecurityContext
	if psc == nil {
		psc = &v1.PodSecurityContext{}
	}
	csc := c.SecurityContext
	if csc == nil {
		csc = &v1.SecurityContext{}
	}
	sc := &runtimeapi.LinuxContainerSecurityContext{
		NamespaceOptions:   namespaceOptions(pod),
		SupplementalGroups: supplementalGroups(psc),
		Seccomp:            seccomp(psc.SeccompProfile),
	}
	if csc.SeccompProfile != nil {
		sc.Seccomp = seccomp(csc.SeccompProfile)
	}
	if u := firstInt64(csc.RunAsUser, psc.RunAsUser); u != nil {
		sc.RunAsUser = &runtimeapi.Int64Value{Value: *u}
	}
	if g := firstInt64(csc.RunAsGroup, psc.RunAsGroup); g != nil {
		sc.RunAsGroup = &runtimeapi.Int64Value{Value: *g}
	}
	sc.Privileged = csc.Privileged != nil && *csc.Privileged
	if csc.Capabilities != nil {
		sc.Capabilities = &runtimeapi.Capability{}
		for _, a := range csc.Capabilities.Add {
			sc.Capabilities.AddCapabilities = append(sc.Capabilities.AddCapabilities, string(a))
		}
		for _, d := range csc.Capabilities.Drop {
			sc.Capabilities.DropCapabilities = append(sc.Capabilities.DropCapabilities, string(d))
		}
	}
	sc.ReadonlyRootfs = csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem
	sc.NoNewPrivs = csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation
	if p := appArmor(pod, c); p != nil {
		sc.Apparmor, sc.ApparmorProfile = p, appArmorName(p)
	}
	// procMount Unmasked is refused (Unsupported): the default mask applies.
	if !sc.Privileged {
		sc.MaskedPaths = defaultMaskedPaths
		sc.ReadonlyPaths = defaultReadonlyPaths
	}
	return sc
}

func firstInt64(vals ...*int64) *int64 {
	for _, v := range vals {
		if v != nil {
			return v
		}
	}
	return nil
}

// CPU cgroup constants, as the upstream kubelet.
const (
	minShares     = 2
	sharesPerCPU  = 1024
	quotaPeriod   = 100000
	minQuotaValue = 1000
)

// containerResources maps requests and limits to Linux resources: CPU
// request → shares, CPU limit → CFS quota, memory limit → limit, and the
// OOM score adjustment of the pod's QoS class.
func containerResources(pod *v1.Pod, c *v1.Container, rc *RenderContext) *runtimeapi.LinuxContainerResources {
	r := &runtimeapi.LinuxContainerResources{CpuShares: minShares}
	if q, ok := c.Resources.Requests[v1.ResourceCPU]; ok {
		if s := q.MilliValue() * sharesPerCPU / 1000; s > minShares {
			r.CpuShares = s
		}
	}
	if q, ok := c.Resources.Limits[v1.ResourceCPU]; ok {
		r.CpuPeriod = quotaPeriod
		r.CpuQuota = max(q.MilliValue()*quotaPeriod/1000, minQuotaValue)
	}
	if q, ok := c.Resources.Limits[v1.ResourceMemory]; ok {
		r.MemoryLimitInBytes = q.Value()
	}
	r.OomScoreAdj = oomScoreAdj(pod, c, rc.MemCapacity)
	return r
}

// QoS classes.
const (
	qosGuaranteed = "Guaranteed"
	qosBurstable  = "Burstable"
	qosBestEffort = "BestEffort"
)

// qosClass is the pod's QoS class, as the API computes it.
func qosClass(pod *v1.Pod) string {
	any, guaranteed := false, true
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			for _, name := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
				req, hasReq := c.Resources.Requests[name]
				lim, hasLim := c.Resources.Limits[name]
				if hasReq || hasLim {
					any = true
				}
				if !hasLim || !hasReq || req.Cmp(lim) != 0 {
					guaranteed = false
				}
			}
		}
	}
	switch {
	case !any:
		return qosBestEffort
	case guaranteed:
		return qosGuaranteed
	}
	return qosBurstable
}

// oomScoreAdj follows the upstream policy: critical and guaranteed pods
// -997, best-effort 1000, burstable 1000 - 1000*request/capacity within
// [2, 999]. (containerd with restrict_oom_score_adj raises negative values
// to its own score.)
func oomScoreAdj(pod *v1.Pod, c *v1.Container, memCapacity int64) int64 {
	if pod.Spec.PriorityClassName == "system-node-critical" || pod.Spec.PriorityClassName == "system-cluster-critical" {
		return -997
	}
	switch qosClass(pod) {
	case qosGuaranteed:
		return -997
	case qosBestEffort:
		return 1000
	}
	if memCapacity <= 0 {
		return 999
	}
	req := c.Resources.Requests[v1.ResourceMemory]
	adj := 1000 - (1000*req.Value())/memCapacity
	return min(max(adj, 2), 999)
}
