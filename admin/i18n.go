package admin

import (
	"net/http"
	"strings"
)

// Languages of the console: English and French.
var messages = map[string]map[string]string{
	"en": {
		"console":          "Console",
		"signin":           "Sign in",
		"signout":          "Sign out",
		"email":            "Email",
		"password":         "Password",
		"password2":        "Password again",
		"totp":             "Code from your authenticator app",
		"welcome":          "Join the team",
		"invited":          "You are invited to the account @%s as %s.",
		"invite.help":      "Choose a password of at least %d characters, then add this key to an authenticator app (scan the QR code or type the key) and enter the 6-digit code it shows.",
		"invite.existing":  "You already have a login: confirm with your password and a code to accept.",
		"totp.key":         "Authenticator key",
		"qr":               "QR code of the authenticator key",
		"accept":           "Accept the invitation",
		"home":             "Home",
		"signedin":         "Signed in as %s.",
		"roles":            "Your accounts",
		"account":          "Account",
		"role":             "Role",
		"audit":            "Audit log",
		"team":             "Team",
		"csv":              "Export CSV",
		"when":             "When",
		"who":              "Who",
		"app":              "App",
		"action":           "Action",
		"target":           "Target",
		"detail":           "Detail",
		"address":          "Address",
		"older":            "Older entries",
		"noentries":        "No entries.",
		"invite":           "Invite someone",
		"invite.send":      "Make an invitation link",
		"invite.link":      "Send this link to %s; it works once, until %s:",
		"role.admin":       "admin",
		"role.editor":      "editor",
		"role.contributor": "contributor",
		"lang":             "Français",
		"err.csrf":         "The form expired or was not sent from this page. Please try again.",
		"err.login":        "Wrong email, password or code.",
		"err.limited":      "Too many attempts. Try again in %d minute(s).",
		"err.invite":       "This invitation link is unknown, expired or already used. Ask for a new one.",
		"err.password":     "The password must have at least %d characters, and both must match.",
		"err.code":         "This code is wrong or was already used. Wait for the next one.",
		"err.internal":     "Internal error, please try again.",
		"err.forbidden":    "You are not an admin of this account.",
		"err.badinvite":    "Give an email address, one of your accounts and a role.",
		"err.notfound":     "Page not found.",
		"err.removeself":   "You cannot take yourself off the team; ask another admin.",
		"team.remove":      "Remove %s from @%s",
		"team.removed":     "%s was taken off the team; their console sessions have ended.",
		"passkey.remove":   "Remove passkey %d of %s",
		"passkey.removed":  "A passkey of %s was removed.",
		"actions":          "Actions",
		"oauth.hint":       "Signed in: go back to the app's authorization page.",
		"passkey.add":      "Add a passkey",
		"passkey.login":    "Sign in with a passkey",
		"passkey.added":    "Passkey added: you can sign in with it.",
		"passkeys":         "Passkeys",
		"passkey.count":    "Passkeys registered: %d.",
		"err.passkeys":     "Passkeys are not available on this server.",
		"err.passkey":      "This passkey could not be checked (unknown, expired or already used). Try again.",
		"err.limitedshort": "Too many attempts. Try again later.",
	},
	"fr": {
		"console":          "Console",
		"signin":           "Se connecter",
		"signout":          "Se déconnecter",
		"email":            "Courriel",
		"password":         "Mot de passe",
		"password2":        "Mot de passe, à nouveau",
		"totp":             "Code de votre application d'authentification",
		"welcome":          "Rejoindre l'équipe",
		"invited":          "Vous êtes invité·e sur le compte @%s comme %s.",
		"invite.help":      "Choisissez un mot de passe d'au moins %d caractères, puis ajoutez cette clé à une application d'authentification (scannez le code QR ou tapez la clé) et saisissez le code à 6 chiffres qu'elle affiche.",
		"invite.existing":  "Vous avez déjà un identifiant : confirmez avec votre mot de passe et un code pour accepter.",
		"totp.key":         "Clé d'authentification",
		"qr":               "Code QR de la clé d'authentification",
		"accept":           "Accepter l'invitation",
		"home":             "Accueil",
		"signedin":         "Connecté·e en tant que %s.",
		"roles":            "Vos comptes",
		"account":          "Compte",
		"role":             "Rôle",
		"audit":            "Journal d'audit",
		"team":             "Équipe",
		"csv":              "Exporter en CSV",
		"when":             "Quand",
		"who":              "Qui",
		"app":              "Application",
		"action":           "Action",
		"target":           "Cible",
		"detail":           "Détail",
		"address":          "Adresse",
		"older":            "Entrées plus anciennes",
		"noentries":        "Aucune entrée.",
		"invite":           "Inviter quelqu'un",
		"invite.send":      "Créer un lien d'invitation",
		"invite.link":      "Envoyez ce lien à %s ; il sert une fois, jusqu'au %s :",
		"role.admin":       "administrateur·rice",
		"role.editor":      "éditeur·rice",
		"role.contributor": "contributeur·rice",
		"lang":             "English",
		"err.csrf":         "Le formulaire a expiré ou ne vient pas de cette page. Veuillez réessayer.",
		"err.login":        "Courriel, mot de passe ou code incorrect.",
		"err.limited":      "Trop de tentatives. Réessayez dans %d minute(s).",
		"err.invite":       "Ce lien d'invitation est inconnu, expiré ou déjà utilisé. Demandez-en un nouveau.",
		"err.password":     "Le mot de passe doit avoir au moins %d caractères, et les deux doivent être identiques.",
		"err.code":         "Ce code est faux ou a déjà servi. Attendez le suivant.",
		"err.internal":     "Erreur interne, veuillez réessayer.",
		"err.forbidden":    "Vous n'administrez pas ce compte.",
		"err.badinvite":    "Indiquez une adresse de courriel, un de vos comptes et un rôle.",
		"err.notfound":     "Page introuvable.",
		"err.removeself":   "Vous ne pouvez pas vous retirer de l'équipe ; demandez à un autre administrateur.",
		"team.remove":      "Retirer %s de @%s",
		"team.removed":     "%s a été retiré de l'équipe ; ses sessions de la console sont terminées.",
		"passkey.remove":   "Supprimer la clé d'accès %d de %s",
		"passkey.removed":  "Une clé d'accès de %s a été supprimée.",
		"actions":          "Actions",
		"oauth.hint":       "Connecté·e : revenez à la page d'autorisation de l'application.",
		"passkey.add":      "Ajouter une clé d'accès",
		"passkey.login":    "Se connecter avec une clé d'accès",
		"passkey.added":    "Clé d'accès ajoutée : vous pouvez vous connecter avec.",
		"passkeys":         "Clés d'accès",
		"passkey.count":    "Clés d'accès enregistrées : %d.",
		"err.passkeys":     "Les clés d'accès ne sont pas disponibles sur ce serveur.",
		"err.passkey":      "Cette clé d'accès n'a pas pu être vérifiée (inconnue, expirée ou déjà utilisée). Réessayez.",
		"err.limitedshort": "Trop de tentatives. Réessayez plus tard.",
	},
}

// langCookie keeps the language chosen with ?lang=.
const langCookie = "passerelle_lang"

// language picks the page's language: ?lang=, then the cookie, then
// Accept-Language (the first of ours it names), then English.
func language(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); messages[l] != nil {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && messages[c.Value] != nil {
		return c.Value
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if messages[base] != nil {
			return base
		}
	}
	return "en"
}
