package deploytest

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is one FROM and what follows it.
type stage struct {
	from, name string
	ins        []instruction
}

type dockerfile struct {
	global []instruction // ARGs before the first FROM
	stages []stage
}

// parseDockerfile reads the instructions of a Dockerfile: comments
// dropped, lines ending in a backslash joined.
func parseDockerfile(path string) (*dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	df := &dockerfile{}
	sc := bufio.NewScanner(f)
	var (
		pending string
		start   int
		n       int
	)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && pending == "") {
			continue
		}
		if pending == "" {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			pending += cont + " "
			continue
		}
		full := strings.TrimSpace(pending + line)
		pending = ""
		cmd, args, _ := strings.Cut(full, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			from, name, _ := strings.Cut(in.args, " ")
			if _, alias, ok := strings.Cut(strings.ToUpper(name), "AS "); ok && alias != "" {
				name = strings.TrimSpace(name[len(name)-len(alias):])
			}
			df.stages = append(df.stages, stage{from: from, name: name})
			continue
		}
		if len(df.stages) == 0 {
			df.global = append(df.global, in)
			continue
		}
		s := &df.stages[len(df.stages)-1]
		s.ins = append(s.ins, in)
	}
	if pending != "" {
		return nil, errors.New("dockerfile: ends with a continuation line")
	}
	return df, sc.Err()
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// shellWords splits a command line on blanks, honouring quotes.
func shellWords(s string) []string {
	var (
		words []string
		cur   strings.Builder
		quote rune
		in    bool
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// goBuild returns the environment assignments and the go arguments of the
// build stage's `go build` RUN.
func (df *dockerfile) goBuild() (env, args []string, err error) {
	for _, s := range df.stages {
		for _, in := range s.all("RUN") {
			words := shellWords(in.args)
			i := 0
			for i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-") {
				i++
			}
			if i+1 < len(words) && words[i] == "go" && words[i+1] == "build" {
				return words[:i], words[i+1:], nil
			}
		}
	}
	return nil, nil, errors.New("dockerfile: no RUN [VAR=value ...] go build")
}

// TestDockerfile checks the Dockerfile's structure, in place of hadolint
// (not packaged in Debian): a multi-stage build of a static binary with
// version build arguments, and a final image that runs it as a non-root
// user with a /data volume, ports 80 and 443 and a HEALTHCHECK that needs
// no shell.
func TestDockerfile(t *testing.T) {
	df, err := parseDockerfile(filepath.Join(moduleRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(df.stages) < 2 {
		t.Fatalf("%d stage(s), want a multi-stage build", len(df.stages))
	}
	build, final := df.stages[0], df.stages[len(df.stages)-1]

	env, args, err := df.goBuild()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"the builder is a golang image", strings.HasPrefix(build.from, "golang:")},
		{"the builder stage is named", build.name != ""},
		{"CGO_ENABLED=0", slices.Contains(env, "CGO_ENABLED=0")},
		{"-trimpath", slices.Contains(args, "-trimpath")},
		{"-ldflags sets -s -w and main.version, main.commit, main.date from build arguments", func() bool {
			i := slices.Index(args, "-ldflags")
			if i < 0 || i+1 >= len(args) {
				return false
			}
			f := args[i+1]
			return strings.Contains(f, "-s -w") && strings.Contains(f, "-X main.version=${VERSION}") &&
				strings.Contains(f, "-X main.commit=${COMMIT}") && strings.Contains(f, "-X main.date=${DATE}")
		}()},
		{"ARG VERSION, COMMIT and DATE in the builder", func() bool {
			var names []string
			for _, in := range build.all("ARG") {
				name, _, _ := strings.Cut(in.args, "=")
				names = append(names, name)
			}
			return slices.Contains(names, "VERSION") && slices.Contains(names, "COMMIT") && slices.Contains(names, "DATE")
		}()},
		{"the final image is minimal (distroless static or scratch)", strings.Contains(final.from, "distroless/static") || final.from == "scratch"},
		{"the binary is copied from the builder", func() bool {
			for _, in := range final.all("COPY") {
				if strings.Contains(in.args, "--from="+build.name) && strings.Contains(in.args, "bridge") {
					return true
				}
			}
			return false
		}()},
		{"USER is numeric and not root", func() bool {
			u := final.all("USER")
			if len(u) == 0 {
				return false
			}
			uid, _, _ := strings.Cut(u[len(u)-1].args, ":")
			return uid == "65532"
		}()},
		{"VOLUME /data", func() bool {
			for _, in := range final.all("VOLUME") {
				if strings.Contains(in.args, "/data") {
					return true
				}
			}
			return false
		}()},
		{"/data belongs to the unprivileged user", func() bool {
			for _, in := range final.all("COPY") {
				if strings.Contains(in.args, "--chown=65532:65532") && strings.HasSuffix(in.args, " /data") {
					return true
				}
			}
			return false
		}()},
		{"EXPOSE 80 443", func() bool {
			for _, in := range final.all("EXPOSE") {
				f := strings.Fields(in.args)
				if slices.Contains(f, "80") && slices.Contains(f, "443") {
					return true
				}
			}
			return false
		}()},
		{"HEALTHCHECK runs `bridge healthcheck` in exec form (no shell in the image)", func() bool {
			h := final.all("HEALTHCHECK")
			return len(h) == 1 && strings.Contains(h[0].args, `CMD ["`) && strings.Contains(h[0].args, `"healthcheck"]`)
		}()},
		{"ENTRYPOINT in exec form", func() bool {
			e := final.all("ENTRYPOINT")
			return len(e) == 1 && strings.HasPrefix(e[0].args, `["/usr/local/bin/bridge"`)
		}()},
		{"no ADD (COPY only, no remote downloads)", len(build.all("ADD"))+len(final.all("ADD")) == 0},
		{"no latest tags", !strings.HasSuffix(build.from, ":latest") && !strings.HasSuffix(final.from, ":latest")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("Dockerfile: %s: not satisfied", c.name)
		}
	}
	if path, err := exec.LookPath("hadolint"); err == nil {
		out, err := exec.Command(path, filepath.Join(moduleRoot(), "Dockerfile")).CombinedOutput()
		if err != nil {
			t.Errorf("hadolint: %v\n%s", err, out)
		}
	}
}

// TestBinaryIsStatic: the binary built as the Dockerfile does must run on
// distroless/static (or scratch): no dynamic loader, no shared library.
func TestBinaryIsStatic(t *testing.T) {
	bin := needBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("imports shared libraries %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Error("symbol table present: -ldflags -s not applied")
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("passerelle %s (commit %s, built %s,", testVersion, testCommit, testDate)
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("bridge version = %q, want it to start with %q", out, want)
	}
}
