package cli

import (
	"archive/zip"
	"bytes"
	"fmt"
	"path"
	"strings"
)

// checkEntryPoint refuses a deployment package (a zip) that lacks what its runtime starts: an
// executable `bootstrap` at its top for the provided runtimes, the handler's module for Python
// and Node.js. Lambda accepts such a package and fails every invoke; barge deploy says so first.
// Other runtimes are not checked.
func checkEntryPoint(pkg []byte, runtime, handler string) error {
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return fmt.Errorf("read the package: %w", err)
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[strings.TrimPrefix(f.Name, "./")] = f
	}
	var want []string // any one of these files is the entry point
	switch {
	case runtime == "provided" || strings.HasPrefix(runtime, "provided."):
		f, ok := files["bootstrap"]
		if !ok {
			return missingEntry(files, []string{"bootstrap"}, "an executable bootstrap at its top, which runtime "+runtime+" starts")
		}
		// Zips made on Unix carry the file's mode; others (CreatorFAT) do not.
		if f.CreatorVersion>>8 == 3 && f.Mode()&0o111 == 0 {
			return fmt.Errorf("its bootstrap is not executable (chmod +x bootstrap), so runtime %s cannot start it", runtime)
		}
		return nil
	case strings.HasPrefix(runtime, "python"):
		module, _, ok := cutLast(handler, ".")
		if !ok || module == "" {
			return usageError{fmt.Sprintf("--handler %q: runtime %s wants module.function, such as app.handler for the function handler in app.py", handler, runtime)}
		}
		p := strings.ReplaceAll(module, ".", "/")
		want = []string{p + ".py", p + "/__init__.py", p + ".pyc"}
	case strings.HasPrefix(runtime, "nodejs"):
		dir, base := path.Split(handler)
		dot := strings.Index(base, ".")
		if dot < 1 || dot == len(base)-1 {
			return usageError{fmt.Sprintf("--handler %q: runtime %s wants file.function, such as index.handler for the function handler exported by index.js", handler, runtime)}
		}
		p := dir + base[:dot]
		want = []string{p + ".js", p + ".mjs", p + ".cjs"}
	default:
		return nil
	}
	for _, w := range want {
		if files[w] != nil {
			return nil
		}
	}
	return missingEntry(files, want, fmt.Sprintf("the module of handler %s (%s)", handler, strings.Join(want, " or ")))
}

// missingEntry is the error for a package without its entry point, pointing at a file of that
// name deeper in the package (a directory zipped with its parent folder).
func missingEntry(files map[string]*zip.File, want []string, what string) error {
	for name := range files {
		for _, w := range want {
			if strings.HasSuffix(name, "/"+w) {
				return fmt.Errorf("the package lacks %s; it has %s, but its files must be at the package's top", what, name)
			}
		}
	}
	return fmt.Errorf("the package lacks %s", what)
}

// cutLast splits s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
