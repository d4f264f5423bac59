// Package render turns the plain text of a post into the HTML that
// Mastodon would produce for it: paragraphs and line breaks, shortened
// links, hashtag links and h-card mentions, with everything else escaped.
//
// The rules follow Mastodon's TextFormatter and Extractor; where this
// package deviates on purpose the doc comment says so. Text never panics and
// always returns well-formed HTML that uses only <p>, <br>, <a> and <span>.
//
// Imports: no other package of this project.
package render
