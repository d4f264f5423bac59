package federation

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits on the names in remote actor documents (DecodeActorDoc). A
// preferredUsername is an identifier: one that breaks them is refused. A
// display name is text to show: it is only capped here (package sanitize
// cleans it up where it is shown).
const (
	MaxRemoteUsername  = 64   // characters, after NFC
	MaxRemoteNameBytes = 1024 // bytes kept of a display name
	// maxCombining is the longest run of combining marks accepted after
	// one base character of a preferredUsername: enough for Vietnamese or
	// Hebrew with points, not for "Zalgo" text.
	maxCombining = 4
)

// checkRemoteUsername refuses a preferredUsername that is too long,
// contains control, format (bidirectional overrides, zero-width) or
// space characters, or stacks combining marks.
func checkRemoteUsername(s string) error {
	if !utf8.ValidString(s) {
		return decodeErr("preferredUsername is not valid UTF-8")
	}
	if len(s) > 4*MaxRemoteUsername {
		return decodeErr("preferredUsername longer than %d characters", MaxRemoteUsername)
	}
	s = norm.NFC.String(s)
	if n := utf8.RuneCountInString(s); n > MaxRemoteUsername {
		return decodeErr("preferredUsername longer than %d characters (%d)", MaxRemoteUsername, n)
	}
	run := 0
	for _, r := range s {
		switch {
		case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp) || unicode.IsSpace(r):
			return decodeErr("preferredUsername contains the control or invisible character %U", r)
		case unicode.In(r, unicode.Mn, unicode.Me):
			if run++; run > maxCombining {
				return decodeErr("preferredUsername stacks more than %d combining marks", maxCombining)
			}
		default:
			run = 0
		}
	}
	return nil
}

// capName bounds a display name as received: at most MaxRemoteNameBytes,
// cut on a character boundary. The name is cleaned up for display (bidi
// overrides, zero-width characters, stacked marks, graphemes) by package
// sanitize where it is shown.
func capName(s string) string {
	if len(s) <= MaxRemoteNameBytes {
		return s
	}
	s = s[:MaxRemoteNameBytes]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
