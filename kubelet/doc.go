// Package kubelet is the pod sync engine of kubeadmin's node agent
// ("kubeadmin kubelet"): it holds the desired set of pods, reconciles it
// with what the CRI runtime runs (one worker per pod UID, relist, restart
// and image back-off, garbage collection, probes) and keeps the pods'
// status for the report. Everything else the agent does lives in its own
// package below, reached through small interfaces; arrows point down.
//
// # Rooms
//
//	kubelet/app          process wiring: options to engine, CRI connection, pod source, healthz, node side, API
//	kubelet/options      flags and KubeletConfiguration: parse, default, validate (pure; preflight can use it)
//	kubelet/service      how the agent is started and stopped: supervisor or systemd unit
//	kubelet/podsource    static pods from the manifest directory, as full snapshots
//	kubelet/kuberuntime  pure rendering of PodSandboxConfig and ContainerConfig: labels, hash, env, DNS
//	kubelet/volume       hostPath and emptyDir setup, mounts, sub-paths, /etc/hosts, termination files
//	kubelet/node         Node registration, node status, lease, host facts and the one node-IP choice
//	kubelet/podstatus    mirror pods and pod status writes to the API server
//	kubelet/server       the kubelet API on port 10250: auth, /pods, logs, exec/attach/port-forward
//	kubelet/crilog       the CRI log file format: parse, tail, follow, rotate
//	kubelet/probe        single probe runs: exec, httpGet, tcpSocket, grpc
//	kubelet/status       the JSON report of /status and `kubeadmin kubelet status`
//	kubelet/cri          the one CRI client: endpoint parsing, dialing, readiness, the small interfaces
//
// app imports the engine and the peers; the engine imports only
// podsource, kuberuntime, volume, probe, status and cri; the peers see the
// engine only through their own Provider interfaces. Nothing here imports
// phases.
//
// The rest of this comment describes the agent as a whole.
//
// # Command line (stable)
//
//	kubeadmin kubelet --config FILE [--kubeconfig F] [--bootstrap-kubeconfig F]
//	    [--root-dir /var/lib/kubelet] [--hostname-override NAME] [--node-ip IP]
//	    [--container-runtime-endpoint unix:///run/containerd/containerd.sock]
//	    [--node-labels k=v,...] [--register-with-taints k=v:Effect,...]
//	    [--max-pods N] [--pod-infra-container-image IMAGE]
//	kubeadmin kubelet status [--server http://127.0.0.1:10248 | --config FILE] [-o table|json]
//
// --config is a kubelet.config.k8s.io/v1beta1 KubeletConfiguration, decoded
// strictly: an unknown field or a bad value stops the agent with a message
// naming the file and the field. Used fields (upstream defaults in
// brackets): staticPodPath [none: no static pods], containerRuntimeEndpoint
// [unix:///run/containerd/containerd.sock], cgroupDriver [cgroupfs],
// cgroupRoot [/kubeadmin here], healthzBindAddress [127.0.0.1],
// healthzPort [10248; 0 disables], address [0.0.0.0], port [10250, validated
// only], fileCheckFrequency [20s], syncFrequency [1m], clusterDNS,
// clusterDomain, podLogsDir [/var/log/pods], resolvConf [/etc/resolv.conf],
// maxPods [110], registerWithTaints, containerLogMaxSize [10Mi],
// containerLogMaxFiles [5], containerLogMonitorInterval [10s].
// --pod-infra-container-image cannot be passed through CRI (containerd
// picks its sandbox image from its own configuration): the agent checks
// that the image is present and warns, naming both, when containerd's
// differs.
// cgroupDriver "systemd" is accepted with a warning and cgroupfs is used:
// the agent only implements cgroupfs (the machines it targets have no
// systemd as PID 1). Flags override the file.
//
// # Behaviour
//
//   - Static pods come from package podsource (inotify plus a periodic
//     re-list; see there for identity and bad-file handling).
//   - One worker goroutine per pod UID. A pod whose full name
//     (<name>_<namespace>) is still held by another UID waits until that
//     pod's containers and sandboxes are stopped and removed; /status shows
//     it with "waiting".
//   - Sandboxes get the upstream labels (io.kubernetes.pod.name,
//     .namespace, .uid) plus kubeadmin.kubelet/node=<node>, the pod's
//     annotations, log directory <podLogsDir>/<ns>_<name>_<uid>, host
//     namespaces as the spec says, DNS from dnsPolicy, port mappings and
//     cgroup parent <cgroupRoot>/pod<uid>. Containers get the upstream labels
//     and annotations (io.kubernetes.container.hash, .restartCount,
//     .terminationMessagePath/Policy, .ports, .preStopHandler, .type,
//     io.kubernetes.pod.terminationGracePeriod), log path
//     <container>/<restartCount>.log, env with $(VAR) expansion and the
//     fieldRef/resourceFieldRef values that exist without an API server,
//     hostPath and emptyDir (<root-dir>/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>)
//     mounts (a Memory emptyDir is a tmpfs, mode 0777, nosuid,nodev, sized
//     by the smaller of sizeLimit and the sum of the containers' memory
//     limits; mounted once, so an agent restart keeps it), /etc/hosts and
//     the termination-message file, security context
//     (AppArmor RuntimeDefault and Unconfined included) and resources
//     mapped to Linux resources and QoS OOM score. subPathExpr expands
//     $(VAR) from the container's env; a sub-path is resolved inside its
//     volume (symbolic links included) and never creates a directory
//     outside it.
//   - Pod fields the agent cannot honour refuse the pod instead of being
//     ignored (kuberuntime.Unsupported lists them): hostUsers: false,
//     seLinuxOptions, AppArmor Localhost profiles, procMount other than
//     Default, emptyDir medium HugePages, sizeLimit on a disk-backed
//     emptyDir (nothing evicts), and sub-paths that are
//     absolute or have "..". The pod gets no sandbox; its status has
//     reason CreateContainerConfigError and a message naming the fields.
//     runAsNonRoot is enforced from runAsUser or the image's user (CRI
//     ImageStatus): a container that would run as root waits with
//     CreateContainerConfigError.
//   - Every runtime object carries the node label; an agent lists, adopts,
//     stops and removes only objects with its own node's label, so agents
//     can share a containerd. On start it adopts what it finds (restart
//     counts and hashes come from the annotations) and stops pods that no
//     manifest defines any more, but only once the pod source has sent a
//     snapshot: without staticPodPath, or while the path cannot be read,
//     nothing found in the runtime is stopped.
//   - A container the runtime reports in UNKNOWN state may still run: it
//     is stopped, and no new instance (nor a new sandbox) starts until the
//     runtime reports it exited or gone; meanwhile its status says
//     ContainerStatusUnknown.
//   - Init containers run in order; restartPolicy is honoured with back-off
//     10 s doubling to 5 min per container, reset after 10 min of running;
//     a failed create or start counts as a crash.
//     A present image is never pulled; a missing one is pulled unless
//     imagePullPolicy is Never.
//   - Probes (startup, liveness, readiness; exec, httpGet, tcpSocket, grpc)
//     with all timing fields; startup gates the others; a failed startup or
//     liveness probe kills the container (preStop, grace period) and the
//     restart policy applies. Probes end when the pod completes. A preStop
//     httpGet without a host goes to the pod IP; named ports resolve from
//     the container's ports.
//   - State changes are found by listing this node's sandboxes and
//     containers every second (containerd 1.6 has no container events);
//     statuses are fetched only when a container's state changes.
//   - Dead containers beyond the newest per container, dead sandboxes
//     without containers, log and pod directories of gone pods, and the log files
//     (<n>.log and its rotations <n>.log.*) and termination-message files
//     (<root-dir>/pods/<uid>/containers/<name>/<n>, one per instance) of
//     removed containers are collected every minute.
//   - A removed manifest stops the pod (grace period, at least 2 s), then
//     removes its containers, sandboxes, pod directory and cgroup. The pod
//     directory goes through volume.TeardownPodDir: every mount below it is
//     unmounted first (deepest first); if one will not go, the directory
//     stays, the error is logged and the teardown is retried.
//   - Container logs rotate as the upstream kubelet's: above
//     containerLogMaxSize the file becomes <n>.log.<timestamp>, the runtime
//     reopens it, older rotations are gzipped and at most
//     containerLogMaxFiles files are kept.
//   - SIGTERM/SIGINT stops the agent, never the pods. Runtime errors are
//     retried; the gRPC connection reconnects when containerd restarts.
//
// # Endpoints (stable)
//
// On healthzBindAddress:healthzPort: GET /healthz answers "ok" while every
// part of the agent runs, and 500 naming each part that stopped and why
// (a kubelet API that cannot bind its port stops the agent at start); GET /status answers the JSON status.Report (package status
// documents the fields). `kubeadmin kubelet status` prints it as a table:
// POD, CONTAINER, STATE, RESTARTS, LAST EXIT, REASON, then FILE, ERROR for
// manifests that could not be used.
//
// # Log lines
//
// One line per lifecycle event on stderr, for example:
//
//	pod "etcd-node1": sandbox 3f2a… ready in 0.3s
//	pod "etcd-node1" started container "etcd" (restart 0) in 0.4s
//	pod "etcd-node1": container "etcd" failed Liveness probe: …; killing it
//	pod "etcd-node1" stopped and removed in 1.2s
package kubelet
