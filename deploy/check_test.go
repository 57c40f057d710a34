package deploy

// The check of the files: their parsers, the Kubernetes objects as far as the check reads them,
// and the rules.

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checked is what check found: the one port and each server command line.
type checked struct {
	port int
	runs []serverRun
	// isvcName is the name of an InferenceService of each ServingRuntime: what KServe puts
	// for {{.Name}} in its args.
	isvcName map[string]string
}

// serverRun is one command line that starts seqclf serve, and the paths GETs will reach it on.
type serverRun struct {
	where string
	argv  []string
	flags map[string]string
	paths []string // the probes' and the Prometheus scrape's
}

// check reads the three files' texts and returns what they hold and the problems it finds, one
// line each, naming the file and object.
func check(dockerfile, kube, kserve string) (checked, []string) {
	c := checked{isvcName: map[string]string{}}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	stages, err := parseDockerfile(dockerfile)
	if err != nil {
		bad("Dockerfile: %v", err)
		return c, problems
	}
	entrypoint, port := checkDockerfile(stages, bad, &c)
	c.port = port

	var objects []object
	for _, f := range []struct{ name, text string }{{"kubernetes.yaml", kube}, {"kserve-servingruntime.yaml", kserve}} {
		objs, err := decodeObjects(f.name, f.text)
		if err != nil {
			bad("%v", err)
			continue
		}
		objects = append(objects, objs...)
	}

	deployments := map[string]*deploymentSpec{}
	runtimes := map[string]*servingRuntimeSpec{}
	var services, hpas, isvcs []object
	// wantPort: every port must be the Dockerfile's, or (without one) the first found.
	wantPort := func(where string, p int) {
		if c.port == 0 {
			c.port = p
		} else if p != c.port {
			bad("%s: port %d, but the Dockerfile's ENTRYPOINT listens on and EXPOSEs %d", where, p, c.port)
		}
	}
	for _, o := range objects {
		where := o.where()
		switch o.Kind {
		case "Deployment":
			var s deploymentSpec
			if !o.decodeSpec(&s, bad) {
				continue
			}
			deployments[o.Metadata.Name] = &s
			if s.Replicas == nil || *s.Replicas < 2 {
				bad("%s: want replicas of at least 2: one model file, several servers", where)
			}
			if !subset(s.Selector.MatchLabels, s.Template.Metadata.Labels) || len(s.Selector.MatchLabels) == 0 {
				bad("%s: selector.matchLabels %v do not select the pod template's labels %v", where, s.Selector.MatchLabels, s.Template.Metadata.Labels)
			}
			checkPod(where, &s.Template.Spec, entrypoint, nil, s.Template.Metadata.Annotations, "prometheus.io", &c, wantPort, bad)
		case "ServingRuntime", "ClusterServingRuntime":
			var s servingRuntimeSpec
			if !o.decodeSpec(&s, bad) {
				continue
			}
			runtimes[o.Metadata.Name] = &s
			if !slices.ContainsFunc(s.SupportedModelFormats, func(f modelFormat) bool { return f.Name == "seqclf" }) {
				bad("%s: supportedModelFormats has no seqclf", where)
			}
			if !slices.Contains(s.ProtocolVersions, "v2") {
				bad("%s: protocolVersions %q lack v2, the Open Inference Protocol's REST", where, s.ProtocolVersions)
			}
			if !slices.ContainsFunc(s.Containers, func(c container) bool { return c.Name == kserveContainer }) {
				bad("%s: no container is named %s, the one KServe mounts %s into", where, kserveContainer, kserveModelDir)
			}
			checkPod(where, &s.podSpec, entrypoint, []string{kserveModelDir}, s.Annotations, "prometheus.kserve.io", &c, wantPort, bad)
		case "Service":
			services = append(services, o)
		case "HorizontalPodAutoscaler":
			hpas = append(hpas, o)
		case "InferenceService":
			isvcs = append(isvcs, o)
		default:
			bad("%s: the test does not know this kind; teach it before shipping one", where)
		}
	}

	// The objects that point at others, once all are read.
	for _, o := range services {
		where := o.where()
		var s serviceSpec
		if !o.decodeSpec(&s, bad) {
			continue
		}
		var target *deploymentSpec
		for _, d := range deployments {
			if len(s.Selector) > 0 && subset(s.Selector, d.Template.Metadata.Labels) {
				target = d
			}
		}
		if target == nil {
			bad("%s: selector %v selects no Deployment's pods", where, s.Selector)
			continue
		}
		if len(s.Ports) == 0 {
			bad("%s: no ports", where)
		}
		for _, p := range s.Ports {
			tp := p.TargetPort
			if tp.value == "" { // Kubernetes: targetPort defaults to port
				tp.value = strconv.Itoa(p.Port)
			}
			n, err := tp.resolve(target.Template.Spec.allPorts())
			if err != nil {
				bad("%s: targetPort %v", where, err)
				continue
			}
			wantPort(fmt.Sprintf("%s: targetPort %s", where, tp.value), n)
		}
	}
	for _, o := range hpas {
		where := o.where()
		var s hpaSpec
		if !o.decodeSpec(&s, bad) {
			continue
		}
		d := deployments[s.ScaleTargetRef.Name]
		if s.ScaleTargetRef.Kind != "Deployment" || d == nil {
			bad("%s: scaleTargetRef names no Deployment %q in the files", where, s.ScaleTargetRef.Name)
			continue
		}
		minR := 1
		if s.MinReplicas != nil {
			minR = *s.MinReplicas
		}
		if minR < 1 || s.MaxReplicas < minR {
			bad("%s: minReplicas %d, maxReplicas %d", where, minR, s.MaxReplicas)
		}
		cpu := slices.ContainsFunc(s.Metrics, func(m hpaMetric) bool {
			return m.Type == "Resource" && m.Resource != nil && m.Resource.Name == "cpu"
		})
		if !cpu {
			bad("%s: no Resource metric on cpu", where)
		}
		for _, ct := range d.Template.Spec.Containers {
			if cpu && ct.Resources.Requests["cpu"] == "" {
				bad("%s: container %s requests no cpu, which a cpu Utilization target is a share of", where, ct.Name)
			}
		}
	}
	for _, o := range isvcs {
		where := o.where()
		var s isvcSpec
		if !o.decodeSpec(&s, bad) {
			continue
		}
		m := s.Predictor.Model
		r := runtimes[m.Runtime]
		if r == nil {
			bad("%s: runtime %q is not a ServingRuntime of the files", where, m.Runtime)
			continue
		}
		if !slices.ContainsFunc(r.SupportedModelFormats, func(f modelFormat) bool { return f.Name == m.ModelFormat.Name }) {
			bad("%s: modelFormat %q is not one runtime %s supports", where, m.ModelFormat.Name, m.Runtime)
		}
		if m.ProtocolVersion != "" && !slices.Contains(r.ProtocolVersions, m.ProtocolVersion) {
			bad("%s: protocolVersion %s is not one runtime %s speaks", where, m.ProtocolVersion, m.Runtime)
		}
		if m.StorageURI == "" {
			bad("%s: no storageUri: nothing would be put in %s", where, kserveModelDir)
		}
		c.isvcName[m.Runtime] = o.Metadata.Name
	}
	if len(deployments) == 0 || len(services) == 0 || len(hpas) == 0 || len(runtimes) == 0 || len(isvcs) == 0 {
		bad("want a Deployment, a Service, a HorizontalPodAutoscaler, a ServingRuntime and an InferenceService; got %d, %d, %d, %d, %d",
			len(deployments), len(services), len(hpas), len(runtimes), len(isvcs))
	}
	return c, problems
}

// checkPod checks a pod's server container: its command line, ports, probes, model path, user
// and the Prometheus annotations (promPrefix/path and /port). modelDirs are the folders the
// model may be in besides the pod's read-only mounts.
func checkPod(where string, pod *podSpec, entrypoint, modelDirs []string, annotations map[string]string, promPrefix string,
	c *checked, wantPort func(string, int), bad func(string, ...any)) {
	if len(pod.Containers) == 0 {
		bad("%s: no containers", where)
	}
	for _, ct := range pod.Containers {
		cw := fmt.Sprintf("%s container %s", where, ct.Name)
		// Kubernetes: command replaces the image's ENTRYPOINT, args its CMD (this image has none);
		// args without command are appended to the ENTRYPOINT.
		var argv []string
		switch {
		case len(ct.Command) > 0:
			argv = append(slices.Clone(ct.Command), ct.Args...)
		case len(ct.Args) > 0:
			bad("%s: args without command are appended to the image's ENTRYPOINT %q; set command: [%q]", cw, entrypoint, firstOr(entrypoint, "/seqclf"))
			argv = append(slices.Clone(entrypoint), ct.Args...)
		default:
			argv = entrypoint
		}
		flags, err := parseServe(argv)
		if err != nil {
			bad("%s: %v", cw, err)
			continue
		}
		run := serverRun{where: cw, argv: argv, flags: flags}
		port, err := listenPort(flags["addr"])
		if err != nil {
			bad("%s: %v", cw, err)
			continue
		}
		wantPort(cw+": --addr", port)
		ports := ct.ports()
		if !slices.ContainsFunc(ports, func(p namedPort) bool { return p.port == port }) {
			bad("%s: no containerPort %d, the port of --addr %s", cw, port, flags["addr"])
		}

		probes := []struct {
			kind string
			p    *probe
			want string
		}{{"readinessProbe", ct.ReadinessProbe, readyPath}, {"livenessProbe", ct.LivenessProbe, livePath}, {"startupProbe", ct.StartupProbe, ""}}
		for _, pr := range probes {
			if pr.p == nil {
				if pr.want != "" {
					bad("%s: no %s; want an httpGet of %s", cw, pr.kind, pr.want)
				}
				continue
			}
			if pr.p.HTTPGet == nil {
				bad("%s: %s is not an httpGet", cw, pr.kind)
				continue
			}
			h := pr.p.HTTPGet
			run.paths = append(run.paths, h.Path)
			if pr.want != "" && h.Path != pr.want {
				bad("%s: %s GETs %s; want %s", cw, pr.kind, h.Path, pr.want)
			}
			if err := isGetRoute(h.Path); err != nil {
				bad("%s: %s: %v", cw, pr.kind, err)
			}
			pp, err := h.Port.resolve(ports)
			if err != nil {
				bad("%s: %s: %v", cw, pr.kind, err)
			} else if pp != port {
				bad("%s: %s knocks on port %d; the server listens on %d", cw, pr.kind, pp, port)
			}
		}

		model := flags["model"]
		dirs := slices.Clone(modelDirs)
		for _, m := range ct.VolumeMounts {
			if m.ReadOnly {
				dirs = append(dirs, m.MountPath)
			}
		}
		if !slices.ContainsFunc(dirs, func(d string) bool { return strings.HasPrefix(model, strings.TrimSuffix(d, "/")+"/") }) {
			bad("%s: --model %s is in no read-only volume (mounted: %q)", cw, model, dirs)
		}
		if !nonRoot(pod.SecurityContext) && !nonRoot(ct.SecurityContext) {
			bad("%s: neither the pod nor the container sets runAsNonRoot: true", cw)
		}
		if p, ok := annotations[promPrefix+"/path"]; ok {
			run.paths = append(run.paths, p)
			if err := isGetRoute(p); err != nil {
				bad("%s: %s/path: %v", where, promPrefix, err)
			}
		}
		if p, ok := annotations[promPrefix+"/port"]; ok && p != strconv.Itoa(port) {
			bad("%s: %s/port is %s; the server listens on %d", where, promPrefix, p, port)
		}
		c.runs = append(c.runs, run)
	}
}

// isGetRoute says why a probe's path is no route the server answers to a GET, or nil.
func isGetRoute(p string) error {
	for _, r := range getRoutes {
		if matchRoute(r, p) {
			return nil
		}
	}
	for _, r := range postRoutes {
		if matchRoute(r, p) {
			return fmt.Errorf("%q is the POST route %s: a GET of it answers 405", p, r)
		}
	}
	return fmt.Errorf("%q is not a route of seqclf serve (GET: %s)", p, strings.Join(getRoutes, ", "))
}

// matchRoute says whether path (its query left out) is the route pattern, where {x} stands for
// one non-empty segment.
func matchRoute(pattern, p string) bool {
	p, _, _ = strings.Cut(p, "?")
	ps, qs := strings.Split(pattern, "/"), strings.Split(p, "/")
	if len(ps) != len(qs) {
		return false
	}
	for i := range ps {
		if strings.HasPrefix(ps[i], "{") && strings.HasSuffix(ps[i], "}") {
			if qs[i] == "" {
				return false
			}
		} else if ps[i] != qs[i] {
			return false
		}
	}
	return true
}

// parseServe reads a server command line, `/seqclf serve --flag value...` (or --flag=value),
// into its flags. --model and --addr are required: the image holds no model, and the default
// --addr is loopback.
func parseServe(argv []string) (map[string]string, error) {
	if len(argv) < 2 || path.Base(argv[0]) != "seqclf" || argv[1] != "serve" {
		return nil, fmt.Errorf("the command line is %q; want /seqclf serve ...", argv)
	}
	flags := map[string]string{}
	for i := 2; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "--") {
			return nil, fmt.Errorf("%q in %q is not a flag: serve takes none", a, argv)
		}
		name, val, ok := strings.Cut(a[2:], "=")
		if !ok {
			if i+1 == len(argv) || strings.HasPrefix(argv[i+1], "-") {
				return nil, fmt.Errorf("--%s has no value in %q", name, argv)
			}
			i++
			val = argv[i]
		}
		if _, dup := flags[name]; dup {
			return nil, fmt.Errorf("--%s given twice in %q: the last one wins and hides the first", name, argv)
		}
		flags[name] = val
	}
	for _, f := range []string{"model", "addr"} {
		if flags[f] == "" {
			return nil, fmt.Errorf("no --%s in %q", f, argv)
		}
	}
	if n, ok := flags["name"]; ok && (n == "" || strings.Contains(n, "/")) {
		return nil, fmt.Errorf("--name %q is not one path segment of /v2/models/{name}", n)
	}
	return flags, nil
}

// listenPort returns the port of a server address that a probe from outside the container
// reaches: on every interface, not loopback.
func listenPort(addr string) (int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("--addr %q: %v", addr, err)
	}
	switch host {
	case "", "0.0.0.0", "::":
	default:
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return 0, fmt.Errorf("--addr %s listens on loopback only: the kubelet's probes and the Service cannot reach it", addr)
		}
		return 0, fmt.Errorf("--addr %s listens on one address; a container's is not known in advance: use 0.0.0.0", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("--addr %q: port %q is not a number from 1 to 65535", addr, port)
	}
	return n, nil
}

func nonRoot(sc *securityContext) bool {
	return sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// subset says whether every label of sel is in labels.
func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// The Dockerfile.

// stage is one FROM of a Dockerfile, with what it inherits from the stage it starts from.
type stage struct {
	name       string
	image      string // the image at the root of the chain of stages
	entrypoint []string
	expose     []string
	user       string
	copies     []string // each COPY's destination
	runs       []string
}

// parseDockerfile reads the instructions this test checks: ARG before the first FROM (for FROM),
// FROM, COPY, RUN, USER, EXPOSE and ENTRYPOINT, which must be in exec form.
func parseDockerfile(text string) ([]*stage, error) {
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(t, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(t)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	args := map[string]string{}
	var stages []*stage
	var st *stage
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		instr = strings.ToUpper(instr)
		if st == nil && instr != "FROM" && instr != "ARG" {
			return nil, fmt.Errorf("%s before the first FROM", instr)
		}
		switch instr {
		case "ARG":
			if st == nil {
				k, v, _ := strings.Cut(rest, "=")
				args[k] = v
			}
		case "FROM":
			f := strings.Fields(os.Expand(rest, func(k string) string { return args[k] }))
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			if len(f) != 1 && (len(f) != 3 || !strings.EqualFold(f[1], "AS")) {
				return nil, fmt.Errorf("FROM %s: want FROM IMAGE [AS NAME]", rest)
			}
			st = &stage{image: f[0]}
			for _, prev := range stages {
				if prev.name != "" && prev.name == strings.ToLower(f[0]) {
					*st = *prev
					st.copies, st.runs = slices.Clone(prev.copies), slices.Clone(prev.runs)
				}
			}
			st.name = ""
			if len(f) == 3 {
				st.name = strings.ToLower(f[2])
			}
			stages = append(stages, st)
		case "ENTRYPOINT":
			var ep []string
			if err := json.Unmarshal([]byte(rest), &ep); err != nil || len(ep) == 0 {
				return nil, fmt.Errorf("ENTRYPOINT %s: want the exec form, a JSON array: the shell form runs /bin/sh, which distroless lacks, and keeps SIGTERM from the server", rest)
			}
			st.entrypoint = ep
		case "EXPOSE":
			st.expose = strings.Fields(rest)
		case "USER":
			st.user = rest
		case "COPY":
			f := strings.Fields(rest)
			st.copies = append(st.copies, f[len(f)-1])
		case "RUN":
			st.runs = append(st.runs, rest)
		}
	}
	if len(stages) == 0 {
		return nil, errors.New("no FROM")
	}
	return stages, nil
}

// checkDockerfile checks the image stages (those with an ENTRYPOINT; the last one is the default
// target) and returns the ENTRYPOINT and the port it listens on.
func checkDockerfile(stages []*stage, bad func(string, ...any), c *checked) ([]string, int) {
	last := stages[len(stages)-1]
	if len(last.entrypoint) == 0 {
		bad("Dockerfile: the last stage, the default target, has no ENTRYPOINT")
	}
	built := false
	for _, s := range stages {
		for _, r := range s.runs {
			built = built || strings.Contains(r, "CGO_ENABLED=0") && strings.Contains(r, "go build") && strings.Contains(r, "./cmd/seqclf")
		}
	}
	if !built {
		bad("Dockerfile: no RUN builds ./cmd/seqclf with CGO_ENABLED=0: distroless/static and scratch have no libc")
	}
	port := 0
	for _, s := range stages {
		if len(s.entrypoint) == 0 {
			continue
		}
		where := "Dockerfile stage " + cmp.Or(s.name, "(unnamed)")
		if !strings.HasPrefix(s.image, "gcr.io/distroless/static") && s.image != "scratch" {
			bad("%s: based on %s; want gcr.io/distroless/static or scratch", where, s.image)
		}
		user, _, _ := strings.Cut(s.user, ":")
		if user == "" || user == "0" || user == "root" {
			bad("%s: USER %q; want a non-root user such as 65532", where, s.user)
		} else if _, err := strconv.Atoi(user); err != nil {
			// Kubernetes' runAsNonRoot can only verify a numeric user.
			bad("%s: USER %q is a name; runAsNonRoot wants a number such as 65532", where, s.user)
		}
		if !slices.Contains(s.copies, s.entrypoint[0]) {
			bad("%s: no COPY puts the binary at %s", where, s.entrypoint[0])
		}
		flags, err := parseServe(s.entrypoint)
		if err != nil {
			bad("%s: ENTRYPOINT: %v", where, err)
			continue
		}
		p, err := listenPort(flags["addr"])
		if err != nil {
			bad("%s: ENTRYPOINT: %v", where, err)
			continue
		}
		c.runs = append(c.runs, serverRun{where: where, argv: s.entrypoint, flags: flags, paths: []string{readyPath, livePath}})
		if e := strings.Join(s.expose, " "); e != strconv.Itoa(p) && e != strconv.Itoa(p)+"/tcp" {
			bad("%s: EXPOSE %s; the ENTRYPOINT listens on %d", where, e, p)
		}
		if port != 0 && p != port {
			bad("%s: listens on %d, another stage on %d", where, p, port)
		}
		port = p
	}
	return last.entrypoint, port
}

// The Kubernetes objects, as much of them as the test reads.

type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Spec yaml.Node `yaml:"spec"`
	file string
}

func (o *object) where() string { return fmt.Sprintf("%s: %s %s", o.file, o.Kind, o.Metadata.Name) }

func (o *object) decodeSpec(v any, bad func(string, ...any)) bool {
	if err := o.Spec.Decode(v); err != nil {
		bad("%s: spec: %v", o.where(), err)
		return false
	}
	return true
}

// decodeObjects reads every document of a multi-document YAML file.
func decodeObjects(name, text string) ([]object, error) {
	dec := yaml.NewDecoder(strings.NewReader(text))
	var objs []object
	for {
		var o object
		err := dec.Decode(&o)
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %v", name, len(objs)+1, err)
		}
		if o.Kind == "" {
			return nil, fmt.Errorf("%s: document %d has no kind", name, len(objs)+1)
		}
		o.file = name
		objs = append(objs, o)
	}
}

type securityContext struct {
	RunAsNonRoot *bool  `yaml:"runAsNonRoot"`
	RunAsUser    *int64 `yaml:"runAsUser"`
}

type podSpec struct {
	SecurityContext *securityContext `yaml:"securityContext"`
	Containers      []container      `yaml:"containers"`
}

func (p *podSpec) allPorts() []namedPort {
	var ps []namedPort
	for _, c := range p.Containers {
		ps = append(ps, c.ports()...)
	}
	return ps
}

type container struct {
	Name    string   `yaml:"name"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	StartupProbe   *probe `yaml:"startupProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
	} `yaml:"resources"`
	SecurityContext *securityContext `yaml:"securityContext"`
	VolumeMounts    []struct {
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type namedPort struct {
	name string
	port int
}

func (c *container) ports() []namedPort {
	var ps []namedPort
	for _, p := range c.Ports {
		ps = append(ps, namedPort{p.Name, p.ContainerPort})
	}
	return ps
}

type probe struct {
	HTTPGet *struct {
		Path string      `yaml:"path"`
		Port intOrString `yaml:"port"`
	} `yaml:"httpGet"`
}

// intOrString is a port given by number or by the name of a container's port.
type intOrString struct{ value string }

func (p *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a port is a number or a name", n.Line)
	}
	p.value = n.Value
	return nil
}

// resolve returns the port number, looking a name up among ports.
func (p intOrString) resolve(ports []namedPort) (int, error) {
	if n, err := strconv.Atoi(p.value); err == nil {
		return n, nil
	}
	for _, np := range ports {
		if np.name != "" && np.name == p.value {
			return np.port, nil
		}
	}
	return 0, fmt.Errorf("%q names no port of the container", p.value)
}

type deploymentSpec struct {
	Replicas *int `yaml:"replicas"`
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
	Template struct {
		Metadata struct {
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
		Spec podSpec `yaml:"spec"`
	} `yaml:"template"`
}

type serviceSpec struct {
	Selector map[string]string `yaml:"selector"`
	Ports    []struct {
		Port       int         `yaml:"port"`
		TargetPort intOrString `yaml:"targetPort"`
	} `yaml:"ports"`
}

type hpaMetric struct {
	Type     string `yaml:"type"`
	Resource *struct {
		Name string `yaml:"name"`
	} `yaml:"resource"`
}

type hpaSpec struct {
	ScaleTargetRef struct {
		Kind string `yaml:"kind"`
		Name string `yaml:"name"`
	} `yaml:"scaleTargetRef"`
	MinReplicas *int        `yaml:"minReplicas"`
	MaxReplicas int         `yaml:"maxReplicas"`
	Metrics     []hpaMetric `yaml:"metrics"`
}

type modelFormat struct {
	Name string `yaml:"name"`
}

type servingRuntimeSpec struct {
	SupportedModelFormats []modelFormat     `yaml:"supportedModelFormats"`
	ProtocolVersions      []string          `yaml:"protocolVersions"`
	Annotations           map[string]string `yaml:"annotations"`
	podSpec               `yaml:",inline"`
}

type isvcSpec struct {
	Predictor struct {
		Model struct {
			ModelFormat     modelFormat `yaml:"modelFormat"`
			Runtime         string      `yaml:"runtime"`
			ProtocolVersion string      `yaml:"protocolVersion"`
			StorageURI      string      `yaml:"storageUri"`
		} `yaml:"model"`
	} `yaml:"predictor"`
}
