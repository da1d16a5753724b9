package podsource

import (
	"path"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// supportedFieldRefs are the downward-API fields that exist for a static
// pod run without an API server.
var supportedFieldRefs = sets.New(
	"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
	"spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
)

// validatePod checks what the node agent relies on: names, images, restart
// and pull policies, volumes (hostPath and emptyDir only), mounts, ports,
// probes and env sources. Messages name the field as the API server does.
func validatePod(pod *v1.Pod) field.ErrorList {
	var errs field.ErrorList
	meta := field.NewPath("metadata")
	for _, msg := range validation.IsDNS1123Subdomain(pod.Name) {
		errs = append(errs, field.Invalid(meta.Child("name"), pod.Name, msg))
	}
	for _, msg := range validation.IsDNS1123Label(pod.Namespace) {
		errs = append(errs, field.Invalid(meta.Child("namespace"), pod.Namespace, msg))
	}
	spec := field.NewPath("spec")
	switch pod.Spec.RestartPolicy {
	case v1.RestartPolicyAlways, v1.RestartPolicyOnFailure, v1.RestartPolicyNever:
	default:
		errs = append(errs, field.NotSupported(spec.Child("restartPolicy"), pod.Spec.RestartPolicy, []string{"Always", "OnFailure", "Never"}))
	}
	switch pod.Spec.DNSPolicy {
	case v1.DNSClusterFirst, v1.DNSClusterFirstWithHostNet, v1.DNSDefault, v1.DNSNone:
	default:
		errs = append(errs, field.NotSupported(spec.Child("dnsPolicy"), pod.Spec.DNSPolicy, []string{"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"}))
	}
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		errs = append(errs, field.Invalid(spec.Child("terminationGracePeriodSeconds"), *g, "must be >= 0"))
	}
	volumes, verrs := validateVolumes(pod.Spec.Volumes, spec.Child("volumes"))
	errs = append(errs, verrs...)
	if len(pod.Spec.Containers) == 0 {
		errs = append(errs, field.Required(spec.Child("containers"), "a pod needs at least one container"))
	}
	names := sets.New[string]()
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		p := spec.Child("initContainers").Index(i)
		errs = append(errs, validateContainer(c, p, volumes, names)...)
		if c.RestartPolicy != nil && *c.RestartPolicy != v1.ContainerRestartPolicyAlways {
			errs = append(errs, field.NotSupported(p.Child("restartPolicy"), *c.RestartPolicy, []string{"Always"}))
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		p := spec.Child("containers").Index(i)
		errs = append(errs, validateContainer(c, p, volumes, names)...)
		if c.RestartPolicy != nil {
			errs = append(errs, field.Forbidden(p.Child("restartPolicy"), "only init containers may set a restart policy"))
		}
	}
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(spec.Child("ephemeralContainers"), "static pods cannot have ephemeral containers"))
	}
	return errs
}

func validateVolumes(vols []v1.Volume, p *field.Path) (sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, v := range vols {
		vp := p.Index(i)
		for _, msg := range validation.IsDNS1123Label(v.Name) {
			errs = append(errs, field.Invalid(vp.Child("name"), v.Name, msg))
		}
		if names.Has(v.Name) {
			errs = append(errs, field.Duplicate(vp.Child("name"), v.Name))
		}
		names.Insert(v.Name)
		switch {
		case v.HostPath != nil:
			errs = append(errs, validateHostPath(v.HostPath, vp.Child("hostPath"))...)
		case v.EmptyDir != nil:
		default:
			errs = append(errs, field.Forbidden(vp, "volume type not supported by the kubeadmin node agent: use hostPath or emptyDir"))
		}
	}
	return names, errs
}

func validateHostPath(hp *v1.HostPathVolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if !path.IsAbs(hp.Path) {
		errs = append(errs, field.Invalid(p.Child("path"), hp.Path, "must be an absolute path"))
	}
	if hp.Type != nil {
		switch *hp.Type {
		case v1.HostPathUnset, v1.HostPathDirectoryOrCreate, v1.HostPathDirectory, v1.HostPathFileOrCreate,
			v1.HostPathFile, v1.HostPathSocket, v1.HostPathCharDev, v1.HostPathBlockDev:
		default:
			errs = append(errs, field.NotSupported(p.Child("type"), *hp.Type, []string{"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"}))
		}
	}
	return errs
}

func validateContainer(c *v1.Container, p *field.Path, volumes, names sets.Set[string]) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(c.Name) {
		errs = append(errs, field.Invalid(p.Child("name"), c.Name, msg))
	}
	if names.Has(c.Name) {
		errs = append(errs, field.Duplicate(p.Child("name"), c.Name))
	}
	names.Insert(c.Name)
	if c.Image == "" {
		errs = append(errs, field.Required(p.Child("image"), "the container image to run"))
	}
	switch c.ImagePullPolicy {
	case v1.PullAlways, v1.PullIfNotPresent, v1.PullNever:
	default:
		errs = append(errs, field.NotSupported(p.Child("imagePullPolicy"), c.ImagePullPolicy, []string{"Always", "IfNotPresent", "Never"}))
	}
	for i, m := range c.VolumeMounts {
		mp := p.Child("volumeMounts").Index(i)
		if !volumes.Has(m.Name) {
			errs = append(errs, field.NotFound(mp.Child("name"), m.Name))
		}
		if !path.IsAbs(m.MountPath) {
			errs = append(errs, field.Invalid(mp.Child("mountPath"), m.MountPath, "must be an absolute path"))
		}
	}
	portNames := sets.New[string]()
	for i, port := range c.Ports {
		pp := p.Child("ports").Index(i)
		errs = append(errs, validatePortNum(port.ContainerPort, pp.Child("containerPort"), false)...)
		errs = append(errs, validatePortNum(port.HostPort, pp.Child("hostPort"), true)...)
		switch port.Protocol {
		case v1.ProtocolTCP, v1.ProtocolUDP, v1.ProtocolSCTP:
		default:
			errs = append(errs, field.NotSupported(pp.Child("protocol"), port.Protocol, []string{"TCP", "UDP", "SCTP"}))
		}
		if port.Name != "" {
			portNames.Insert(port.Name)
		}
	}
	if len(c.EnvFrom) > 0 {
		errs = append(errs, field.Forbidden(p.Child("envFrom"), "static pods cannot reference API objects"))
	}
	for i, e := range c.Env {
		errs = append(errs, validateEnv(e, p.Child("env").Index(i))...)
	}
	errs = append(errs, validateProbe(c.StartupProbe, p.Child("startupProbe"), portNames, true)...)
	errs = append(errs, validateProbe(c.LivenessProbe, p.Child("livenessProbe"), portNames, true)...)
	errs = append(errs, validateProbe(c.ReadinessProbe, p.Child("readinessProbe"), portNames, false)...)
	return errs
}

func validatePortNum(port int32, p *field.Path, zeroOK bool) field.ErrorList {
	if zeroOK && port == 0 {
		return nil
	}
	if port < 1 || port > 65535 {
		return field.ErrorList{field.Invalid(p, port, "must be between 1 and 65535, inclusive")}
	}
	return nil
}

func validateEnv(e v1.EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if e.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), "the variable name"))
	}
	vf := e.ValueFrom
	if vf == nil {
		return errs
	}
	switch {
	case vf.FieldRef != nil:
		fp := vf.FieldRef.FieldPath
		if !supportedFieldRefs.Has(fp) && !isLabelOrAnnotationRef(fp) {
			errs = append(errs, field.NotSupported(p.Child("valueFrom", "fieldRef", "fieldPath"), fp, sets.List(supportedFieldRefs)))
		}
	case vf.ResourceFieldRef != nil:
	default:
		errs = append(errs, field.Forbidden(p.Child("valueFrom"), "static pods cannot reference API objects (secrets, config maps): use fieldRef or resourceFieldRef"))
	}
	return errs
}

func isLabelOrAnnotationRef(fp string) bool {
	for _, prefix := range []string{"metadata.labels['", "metadata.annotations['"} {
		if len(fp) > len(prefix)+2 && fp[:len(prefix)] == prefix && fp[len(fp)-2:] == "']" {
			return true
		}
	}
	return false
}

func validateProbe(pr *v1.Probe, p *field.Path, portNames sets.Set[string], successMustBeOne bool) field.ErrorList {
	if pr == nil {
		return nil
	}
	var errs field.ErrorList
	handlers := 0
	if pr.Exec != nil {
		handlers++
		if len(pr.Exec.Command) == 0 {
			errs = append(errs, field.Required(p.Child("exec", "command"), "the command to run"))
		}
	}
	if pr.HTTPGet != nil {
		handlers++
		errs = append(errs, validateProbePort(pr.HTTPGet.Port, p.Child("httpGet", "port"), portNames)...)
		if s := pr.HTTPGet.Scheme; s != v1.URISchemeHTTP && s != v1.URISchemeHTTPS {
			errs = append(errs, field.NotSupported(p.Child("httpGet", "scheme"), s, []string{"HTTP", "HTTPS"}))
		}
	}
	if pr.TCPSocket != nil {
		handlers++
		errs = append(errs, validateProbePort(pr.TCPSocket.Port, p.Child("tcpSocket", "port"), portNames)...)
	}
	if pr.GRPC != nil {
		handlers++
		errs = append(errs, validatePortNum(pr.GRPC.Port, p.Child("grpc", "port"), false)...)
	}
	if handlers != 1 {
		errs = append(errs, field.Invalid(p, handlers, "must have exactly one handler: exec, httpGet, tcpSocket or grpc"))
	}
	for name, v := range map[string]int32{"timeoutSeconds": pr.TimeoutSeconds, "periodSeconds": pr.PeriodSeconds, "successThreshold": pr.SuccessThreshold, "failureThreshold": pr.FailureThreshold} {
		if v < 1 {
			errs = append(errs, field.Invalid(p.Child(name), v, "must be at least 1"))
		}
	}
	if pr.InitialDelaySeconds < 0 {
		errs = append(errs, field.Invalid(p.Child("initialDelaySeconds"), pr.InitialDelaySeconds, "must be >= 0"))
	}
	if successMustBeOne && pr.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(p.Child("successThreshold"), pr.SuccessThreshold, "must be 1"))
	}
	return errs
}

func validateProbePort(port intstr.IntOrString, p *field.Path, portNames sets.Set[string]) field.ErrorList {
	if port.Type == intstr.String {
		if !portNames.Has(port.StrVal) {
			return field.ErrorList{field.Invalid(p, port.StrVal, "must be a port number or the name of a port of the container")}
		}
		return nil
	}
	return validatePortNum(port.IntVal, p, false)
}
