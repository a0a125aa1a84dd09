package compat

// Regenerate docs/compatibility.md from the models, the implemented operations and Notes.
//go:generate go run ./gen -out ../../docs/compatibility.md
