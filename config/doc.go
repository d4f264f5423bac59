// Package config loads and validates Passerelle's YAML configuration once,
// at start-up. Each component receives its own section, never the whole.
//
// [Load] reads a YAML file and reports every problem at once: unknown keys
// (with a did-you-mean suggestion), values of the wrong type, unresolvable
// ${VAR} or ${file:...} references and failed validation rules. Each problem
// is a [*Problem] naming the file, line and key path, and the returned error
// prints one problem per line.
//
// String values may refer to the environment or to files:
//
//	${VAR}          the value of environment variable VAR (an error if unset)
//	${VAR:-text}    the value of VAR, or text when VAR is unset or empty
//	${file:path}    the contents of a file, trailing newlines removed
//	$$              a literal $
//
// References are expanded in scalar values after the YAML is parsed, so what
// they expand to is never read as YAML.
//
// Imports: hostport and links only; never storage, federation or safehttp
// (it is read before any of them exists).
package config
