// Command modproxy publishes a module directory into a file-based module proxy, the layout
// GOPROXY=file://DIR serves (DIR/<module>/@v/{list,<v>.info,<v>.mod,<v>.zip}), so that a
// consumer can `go get` it exactly as it would from a real proxy, minus the network:
//
//	go run ./tools/modproxy -dir target/dist/go-harness -version v0.1.1-0.20261202150000-0123456789ab -out /tmp/proxy
//
// The zip holds every regular file of the directory under <module>@<version>/, skipping what
// the go command leaves out of a module zip (vendor/, nested modules, .git, .hg); the go command
// itself checks the rest (paths, sizes) when it downloads it.
package main

import (
	"archive/zip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	dir := flag.String("dir", "", "the module's root directory (holds go.mod)")
	version := flag.String("version", "", "the version to publish, e.g. v0.1.0 or a pseudo-version")
	out := flag.String("out", "", "the proxy directory (GOPROXY=file://OUT)")
	flag.Parse()
	if *dir == "" || *version == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := publish(*dir, *version, *out); err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
}

func publish(dir, version, out string) error {
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	module := modulePath(gomod)
	if module == "" {
		return fmt.Errorf("%s/go.mod has no module line", dir)
	}
	if strings.ToLower(module) != module {
		return fmt.Errorf("module path %q has upper-case letters: escaping them is not implemented", module)
	}
	vdir := filepath.Join(out, filepath.FromSlash(module), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vdir, version+".mod"), gomod, 0o644); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vdir, version+".info"), info, 0o644); err != nil {
		return err
	}
	if err := writeZip(dir, module+"@"+version, filepath.Join(vdir, version+".zip")); err != nil {
		return err
	}
	list, _ := os.ReadFile(filepath.Join(vdir, "list"))
	if !strings.Contains("\n"+string(list), "\n"+version+"\n") {
		list = append(list, version+"\n"...)
	}
	return os.WriteFile(filepath.Join(vdir, "list"), list, 0o644)
}

func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

func writeZip(dir, prefix, dst string) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	walkErr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "." {
				return nil
			}
			switch d.Name() {
			case "vendor", ".git", ".hg", ".svn", ".bzr":
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module is not part of this one
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		w, err := zw.Create(path.Join(prefix, rel))
		if err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
	if err := zw.Close(); err != nil && walkErr == nil {
		walkErr = err
	}
	if err := f.Close(); err != nil && walkErr == nil {
		walkErr = err
	}
	return walkErr
}
