// Package console owns barge's web console, served at /console/ on the API listener: pages
// rendered on the server (html/template, embedded in the binary, no build step, no network) that
// show one account's queues and compute environments with their load, its jobs with filters and
// live status, an array's progress, a job's attempts, timings and log, a job's dependency graph,
// and its functions with invocations, errors, throttles and warm instances.
//
// It also owns the console's login: `barge console` gets a one-time token (valid TokenTTL) from
// the signed API (IssueToken), which GET /console/login exchanges for a session cookie (valid
// SessionTTL). Tokens and sessions live in memory only: a restart of the server logs every
// browser out. Without a session no page shows any data.
//
// The data comes from the services' Go methods, as the API edge calls them, always with the
// session's account: a console page can show nothing its account could not read through the API.
package console
