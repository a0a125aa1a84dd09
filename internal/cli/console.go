package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/barge-run/barge/internal/api"
)

// cmdConsole asks the server for a one-time login token for the web console (a request signed
// with the caller's credentials, so the console shows their account) and prints the URL that
// logs a browser in with it.
func cmdConsole(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	job := fs.String("job", "", "open this job's page (a job `ID`)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"usage: barge console [--job ID]"}
	}
	cl, err := c.clients()
	if err != nil {
		return err
	}
	token, err := consoleToken(ctx, cl)
	if err != nil {
		return err
	}
	u := strings.TrimRight(cl.endpoint, "/") + "/console/login?token=" + url.QueryEscape(token)
	if *job != "" {
		u += "&next=" + url.QueryEscape("/console/jobs/"+url.PathEscape(*job))
	}
	fmt.Fprintln(out, u)
	return nil
}

// consoleToken gets a login token with a request signed for the service "barge".
func consoleToken(ctx context.Context, cl *clients) (string, error) {
	var res struct {
		Token string `json:"token"`
	}
	if err := cl.bargeCall(ctx, api.ConsoleTokenPath, http.NoBody, 0, "", "", &res); err != nil {
		return "", fmt.Errorf("console token: %w", err)
	}
	if res.Token == "" {
		return "", fmt.Errorf("console token: the server answered none")
	}
	return res.Token, nil
}
