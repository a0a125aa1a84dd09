// Command app is a tiny static program for test images: it reports what the container gave it
// (argv, environment, working directory, identity) and probes the filesystem, so tests of the
// packages that run images can assert on its output. Standard library only.
//
// Usage:
//
//	app [ARGS...]        with no known mode: print argv (JSON), the working directory and the
//	                     sorted environment
//	app echo ARGS...     print ARGS joined by spaces
//	app env [NAME...]    print NAME=value for each NAME (unset names print nothing), or all
//	app pwd              print the working directory
//	app write PATH [TEXT] write TEXT (default "ok") to PATH; exit 1 on failure
//	app cat PATH         print PATH's contents; exit 1 on failure
//	app id               print "uid gid"
//	app exit N           exit with status N
//	app sleep DURATION   sleep, e.g. "10s"; for timeouts and signals
//
// Errors go to stderr as "app: ..." with exit status 1.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	mode := ""
	if len(args) > 0 {
		mode, args = args[0], args[1:]
	}
	switch mode {
	case "echo":
		fmt.Println(strings.Join(args, " "))
	case "env":
		if len(args) == 0 {
			env := os.Environ()
			slices.Sort(env)
			for _, kv := range env {
				fmt.Println(kv)
			}
		}
		for _, k := range args {
			if v, ok := os.LookupEnv(k); ok {
				fmt.Printf("%s=%s\n", k, v)
			}
		}
	case "pwd":
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		fmt.Println(wd)
	case "write":
		if len(args) == 0 {
			return fmt.Errorf("write: missing PATH")
		}
		text := "ok"
		if len(args) > 1 {
			text = args[1]
		}
		return os.WriteFile(args[0], []byte(text), 0o644)
	case "cat":
		if len(args) == 0 {
			return fmt.Errorf("cat: missing PATH")
		}
		b, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(b)
		return err
	case "id":
		fmt.Println(os.Getuid(), os.Getgid())
	case "exit":
		if len(args) == 0 {
			return fmt.Errorf("exit: missing N")
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return err
		}
		os.Exit(n)
	case "sleep":
		if len(args) == 0 {
			return fmt.Errorf("sleep: missing DURATION")
		}
		d, err := time.ParseDuration(args[0])
		if err != nil {
			return err
		}
		time.Sleep(d)
	default:
		argv, _ := json.Marshal(os.Args)
		fmt.Printf("argv=%s\n", argv)
		wd, _ := os.Getwd()
		fmt.Printf("pwd=%s\n", wd)
		env := os.Environ()
		slices.Sort(env)
		for _, kv := range env {
			fmt.Printf("env %s\n", kv)
		}
	}
	return nil
}
