package companion_test

// TestREADME compiles every ```go block of README.md, so the snippets stay
// true to the API.
//
// Each block becomes a package of its own in a temporary module that
// replaces this repository's modules (the root, cache/rediscache,
// transport/http3, openaigo, … as go.work lists them) with their
// directories; `go build ./...` and `go vet ./...` then check them, offline
// (GOPROXY=off, GOWORK=off, GOFLAGS=-mod=mod): a block that needs a module
// missing from the module cache fails the test, nothing is downloaded.
// Errors point at README.md's lines.
//
// A block is one of:
//
//   - a whole file (it starts with "package"): compiled as it is;
//   - declarations (func, type, var, const at top level): compiled as a
//     file, with the imports it uses added;
//   - statements (the usual snippet): wrapped in a function
//     `func snippet(<in>) error { <block>; return nil }`, with the imports
//     it uses added.
//
// Imports are found by the package names the block uses (companion, cache,
// semantic, transport, http3, openai for go-openai, option for openai-go,
// fmt, errors, …; see readmeImports). A snippet's free variables and the
// variables it leaves for the reader are declared in an HTML comment,
// invisible on GitHub, on the line right before the block's fence:
//
//	<!-- go: in(ctx context.Context, q companion.Question, send func(string)) out(answer) -->
//
// where in(…) are the wrapper's parameters, out(…) names variables the
// snippet declares and does not use (the wrapper uses them, so the
// compiler does not refuse them), import(name path, …) adds or overrides
// imports (import(openai github.com/openai/openai-go/v3) for openai-go's
// package openai), and skip(reason) leaves a block out.
//
// Run it alone with:
//
//	go test -run TestREADME .

import (
	"bufio"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// readmeImports maps the package names README blocks use to their import
// paths; a block's import(…) overrides an entry.
var readmeImports = map[string]string{
	"companion":     "github.com/companion-go/companion",
	"batch":         "github.com/companion-go/companion/batch",
	"cache":         "github.com/companion-go/companion/cache",
	"companiontest": "github.com/companion-go/companion/companiontest",
	"moderation":    "github.com/companion-go/companion/moderation",
	"prompt":        "github.com/companion-go/companion/prompt",
	"semantic":      "github.com/companion-go/companion/semantic",
	"transport":     "github.com/companion-go/companion/transport",
	"http3":         "github.com/companion-go/companion/transport/http3",
	"rediscache":    "github.com/companion-go/companion/cache/rediscache",
	"openaigo":      "github.com/companion-go/companion/openaigo",
	"openai":        "github.com/sashabaranov/go-openai",
	"option":        "github.com/openai/openai-go/v3/option",
	"redis":         "github.com/redis/go-redis/v9",
	"metric":        "go.opentelemetry.io/otel/metric",
	"trace":         "go.opentelemetry.io/otel/trace",
	"bytes":         "bytes",
	"context":       "context",
	"errors":        "errors",
	"fmt":           "fmt",
	"http":          "net/http",
	"io":            "io",
	"json":          "encoding/json",
	"log":           "log",
	"os":            "os",
	"slog":          "log/slog",
	"strings":       "strings",
	"sync":          "sync",
	"time":          "time",
}

// readmeBlock is one ```go block of README.md.
type readmeBlock struct {
	file string // the Markdown file's base name, "README.md"
	line int    // README line of the block's first code line
	code string // the block's text
	dir  string // the directive's text after "go:", "" without one
}

var (
	readmeDirective = regexp.MustCompile(`^\s*<!--\s*go:(.*?)-->\s*$`)
	readmeSection   = regexp.MustCompile(`(in|out|import|skip)\(`)
)

func TestREADME(t *testing.T) {
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	compileMarkdown(t, root, filepath.Join(root, "README.md"))
}

// compileMarkdown builds and vets the ```go blocks of the Markdown file
// at path against the workspace modules under root.
func compileMarkdown(t *testing.T, root, path string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: README blocks not compiled")
	}
	blocks, err := readmeBlocks(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block")
	}
	mods, err := workspaceModules(root)
	if err != nil {
		t.Fatal(err)
	}

	tmp := t.TempDir()
	used := map[string]bool{} // import paths of all blocks
	compiled := 0
	for _, b := range blocks {
		d, err := parseDirective(b.dir)
		if err != nil {
			t.Fatalf("%s:%d: directive %q: %v", b.file, b.line-1, b.dir, err)
		}
		if d.skip != "" {
			t.Logf("%s:%d: skipped: %s", b.file, b.line, d.skip)
			continue
		}
		src, imports, err := readmeSource(b, d)
		if err != nil {
			t.Fatalf("%s:%d: %v", b.file, b.line, err)
		}
		for _, p := range imports {
			used[p] = true
		}
		dir := filepath.Join(tmp, fmt.Sprintf("block%04d", b.line))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "snippet.go"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		compiled++
	}
	gomod, gosum := readmeModule(mods, used)
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "go.sum"), []byte(gosum), 0o644); err != nil {
		t.Fatal(err)
	}

	env := append(os.Environ(),
		"GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod", "GOSUMDB=off", "GOTOOLCHAIN=local",
	)
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
		start := time.Now()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = tmp
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			msg := string(out)
			if strings.Contains(msg, "GOPROXY=off") || strings.Contains(msg, "module lookup disabled") {
				msg = "a README block needs a module that is not in the module cache (this test never downloads); " +
					"add it to a go.mod of the repository or change the block:\n" + msg
			}
			t.Fatalf("go %s of %s's Go blocks: %v\n%s\n(each block's wrapper: see the convention at the top of readme_test.go)", strings.Join(args, " "), filepath.Base(path), err, msg)
		}
		t.Logf("go %s: %d blocks in %v", args[0], compiled, time.Since(start).Round(time.Millisecond))
	}
}

// readmeBlocks returns the ```go blocks of the Markdown file at path, each
// with the directive of the line before its fence.
func readmeBlocks(path string) ([]readmeBlock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	var blocks []readmeBlock
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		b := readmeBlock{file: filepath.Base(path), line: i + 2}
		if i > 0 {
			if m := readmeDirective.FindStringSubmatch(lines[i-1]); m != nil {
				b.dir = strings.TrimSpace(m[1])
			}
		}
		j := i + 1
		for j < len(lines) && strings.TrimSpace(lines[j]) != "```" {
			j++
		}
		if j == len(lines) {
			return nil, fmt.Errorf("%s:%d: ```go block never closed", filepath.Base(path), i+1)
		}
		b.code = strings.Join(lines[i+1:j], "\n")
		blocks = append(blocks, b)
		i = j
	}
	return blocks, nil
}

// readmeWrap is a parsed directive.
type readmeWrap struct {
	in      string            // the wrapper's parameter list
	out     []string          // variables to use after the block
	imports map[string]string // name → path
	skip    string            // why the block is left out
}

// parseDirective parses the text of a "<!-- go: … -->" comment.
func parseDirective(s string) (readmeWrap, error) {
	d := readmeWrap{imports: map[string]string{}}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		loc := readmeSection.FindStringSubmatchIndex(s)
		if loc == nil || loc[0] != 0 {
			return d, fmt.Errorf("want in(…), out(…), import(…) or skip(…) at %q", s)
		}
		name := s[loc[2]:loc[3]]
		depth, end := 1, -1
		for k := loc[1]; k < len(s) && end < 0; k++ {
			switch s[k] {
			case '(':
				depth++
			case ')':
				if depth--; depth == 0 {
					end = k
				}
			}
		}
		if end < 0 {
			return d, fmt.Errorf("unbalanced parentheses in %q", s)
		}
		arg := strings.TrimSpace(s[loc[1]:end])
		s = s[end+1:]
		switch name {
		case "in":
			d.in = arg
		case "out":
			for _, v := range strings.Split(arg, ",") {
				if v = strings.TrimSpace(v); v != "" {
					d.out = append(d.out, v)
				}
			}
		case "import":
			for _, spec := range strings.Split(arg, ",") {
				f := strings.Fields(spec)
				if len(f) != 2 {
					return d, fmt.Errorf("import(…) wants \"name path\" pairs, got %q", spec)
				}
				d.imports[f[0]] = f[1]
			}
		case "skip":
			if arg == "" {
				return d, errors.New("skip(…) needs a reason")
			}
			d.skip = arg
		}
	}
	return d, nil
}

// readmeSource returns the Go file of one block and the paths it imports.
func readmeSource(b readmeBlock, d readmeWrap) (string, []string, error) {
	code := b.code
	pos := fmt.Sprintf("//line %s:%d\n", b.file, b.line)
	if strings.HasPrefix(strings.TrimSpace(code), "package ") {
		f, err := parser.ParseFile(token.NewFileSet(), "snippet.go", code, parser.ImportsOnly)
		if err != nil {
			return "", nil, err
		}
		var paths []string
		for _, im := range f.Imports {
			paths = append(paths, strings.Trim(im.Path.Value, `"`))
		}
		return pos + code + "\n", paths, nil
	}
	pkg := fmt.Sprintf("block%04d", b.line)
	var body string
	if _, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+code, 0); err == nil && d.in == "" && len(d.out) == 0 {
		body = pos + code + "\n"
	} else {
		var tail strings.Builder
		for _, v := range d.out {
			fmt.Fprintf(&tail, "\t_ = %s\n", v)
		}
		fn := fmt.Sprintf("func snippet(%s) error {\n%s%s\n//line readme_wrapper.go:1\n%s", d.in, pos, code, tail.String())
		f, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+fn+"}\n", 0)
		if err != nil {
			return "", nil, fmt.Errorf("neither declarations nor statements: %v", err)
		}
		fd := f.Decls[0].(*ast.FuncDecl)
		if n := len(fd.Body.List); n == 0 || !isReturn(fd.Body.List[n-1]) {
			tail.WriteString("\treturn nil\n")
		}
		body = fmt.Sprintf("func snippet(%s) error {\n%s%s\n//line readme_wrapper.go:1\n%s}\n", d.in, pos, code, tail.String())
	}
	// The package names the block and its wrapper use.
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\n"+body, 0)
	if err != nil {
		return "", nil, err
	}
	names := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				names[id.Name] = true
			}
		}
		return true
	})
	var imports []string
	var paths []string
	for name := range names {
		path, ok := d.imports[name]
		if !ok {
			path, ok = readmeImports[name]
		}
		if !ok {
			continue // a variable, or a package the block must import(…)
		}
		imports = append(imports, fmt.Sprintf("\t%s %q\n", name, path))
		paths = append(paths, path)
	}
	slices.Sort(imports)
	var src strings.Builder
	fmt.Fprintf(&src, "// Code generated by TestREADME from README.md. DO NOT EDIT.\n\npackage %s\n\n", pkg)
	if len(imports) > 0 {
		fmt.Fprintf(&src, "import (\n%s)\n\n", strings.Join(imports, ""))
	}
	src.WriteString(body)
	return src.String(), paths, nil
}

func isReturn(s ast.Stmt) bool {
	_, ok := s.(*ast.ReturnStmt)
	return ok
}

// readmeModuleInfo is one module of the workspace.
type readmeModuleInfo struct {
	path, dir string
	requires  [][2]string // path, version
	sum       string      // its go.sum
}

// workspaceModules returns the modules go.work uses, the root first.
func workspaceModules(root string) ([]readmeModuleInfo, error) {
	dirs := []string{"."}
	if data, err := os.ReadFile(filepath.Join(root, "go.work")); err == nil {
		inUse := false
		for _, l := range strings.Split(string(data), "\n") {
			l = strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(l, "use ("):
				inUse = true
			case inUse && l == ")":
				inUse = false
			case inUse && l != "" && !strings.HasPrefix(l, "//"):
				dirs = append(dirs, l)
			case strings.HasPrefix(l, "use "):
				dirs = append(dirs, strings.TrimSpace(strings.TrimPrefix(l, "use ")))
			}
		}
	}
	var mods []readmeModuleInfo
	seen := map[string]bool{}
	for _, d := range dirs {
		dir := filepath.Join(root, d)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		m, err := readGoMod(dir)
		if err != nil {
			return nil, err
		}
		mods = append(mods, m)
	}
	return mods, nil
}

// readGoMod reads the module path and requirements of dir's go.mod.
func readGoMod(dir string) (readmeModuleInfo, error) {
	m := readmeModuleInfo{dir: dir}
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return m, err
	}
	defer f.Close()
	inReq := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if i := strings.Index(l, "//"); i >= 0 {
			l = strings.TrimSpace(l[:i])
		}
		fields := strings.Fields(l)
		switch {
		case len(fields) == 2 && fields[0] == "module":
			m.path = fields[1]
		case l == "require (":
			inReq = true
		case inReq && l == ")":
			inReq = false
		case inReq && len(fields) == 2:
			m.requires = append(m.requires, [2]string{fields[0], fields[1]})
		case len(fields) == 3 && fields[0] == "require":
			m.requires = append(m.requires, [2]string{fields[1], fields[2]})
		}
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if m.path == "" {
		return m, fmt.Errorf("%s/go.mod: no module line", dir)
	}
	if sum, err := os.ReadFile(filepath.Join(dir, "go.sum")); err == nil {
		m.sum = string(sum)
	}
	return m, nil
}

// readmeModule returns the go.mod and go.sum of the temporary module: it
// requires the workspace modules the blocks import (the root always) and
// their requirements, and replaces every workspace module with its
// directory.
func readmeModule(mods []readmeModuleInfo, used map[string]bool) (gomod, gosum string) {
	owner := func(p string) string { // the workspace module of an import path, "" for none
		best := ""
		for _, m := range mods {
			if (p == m.path || strings.HasPrefix(p, m.path+"/")) && len(m.path) > len(best) {
				best = m.path
			}
		}
		return best
	}
	need := map[string]bool{mods[0].path: true}
	for p := range used {
		if o := owner(p); o != "" {
			need[o] = true
		}
	}
	var req, repl strings.Builder
	reqSeen := map[string]bool{}
	sums := map[string]bool{}
	var sum strings.Builder
	for _, m := range mods {
		fmt.Fprintf(&repl, "\t%s => %s\n", m.path, m.dir)
		if !need[m.path] {
			continue
		}
		fmt.Fprintf(&req, "\t%s v0.0.0\n", m.path)
		reqSeen[m.path] = true
		for _, r := range m.requires {
			if owner(r[0]) != "" || reqSeen[r[0]] {
				continue
			}
			reqSeen[r[0]] = true
			fmt.Fprintf(&req, "\t%s %s\n", r[0], r[1])
		}
		for _, l := range strings.Split(m.sum, "\n") {
			if l != "" && !sums[l] {
				sums[l] = true
				sum.WriteString(l + "\n")
			}
		}
	}
	gomod = fmt.Sprintf("module readmecheck\n\ngo 1.26.0\n\nrequire (\n%s)\n\nreplace (\n%s)\n", req.String(), repl.String())
	return gomod, sum.String()
}

func TestREADMEDirective(t *testing.T) {
	d, err := parseDirective(`in(ctx context.Context, send func(string)) out(a, b) import(openai github.com/openai/openai-go/v3)`)
	if err != nil {
		t.Fatal(err)
	}
	if d.in != "ctx context.Context, send func(string)" || !slices.Equal(d.out, []string{"a", "b"}) ||
		d.imports["openai"] != "github.com/openai/openai-go/v3" || d.skip != "" {
		t.Errorf("parseDirective: %+v", d)
	}
	for _, bad := range []string{"in(ctx", "with(x)", "skip()", "import(openai)"} {
		if _, err := parseDirective(bad); err == nil {
			t.Errorf("parseDirective(%q): no error", bad)
		}
	}
}
