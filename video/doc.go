// Package video validates and converts uploaded videos (mp4, mov, WebM,
// and animated GIFs) with ffmpeg compiled to WebAssembly and run by
// wazero, so that the binary stays static: no cgo, no ffmpeg to install.
//
// A video is trusted only after ffprobe has read its content: the
// container is recognised from its first bytes (Sniff), confirmed by the
// demuxer, and must hold a video track of sane size and duration. The
// output is always an H.264/AAC mp4 with its index first (faststart, so
// that browsers play it while it downloads), without the container's or
// the streams' metadata (a phone's GPS position, its model, titles),
// chapters, subtitles or data tracks.
//
// The programs run through a Runner: package ffwasm (ffmpeg compiled to
// WebAssembly) in the bridge, so that this package stays light for its
// importers.
//
// Imports: no other package of this project.
package video
