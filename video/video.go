package video

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Defaults for zero Limits fields.
const (
	DefaultMaxDuration = 3 * time.Minute
	DefaultMaxSide     = 4096 // longest side of an input, in pixels
	DefaultMaxPixels   = 4096 * 2304
	// OutputMaxSide is the longest side of a re-encoded video (1080p
	// landscape or portrait); a remuxed video keeps its size.
	OutputMaxSide = 1920
	// PosterMaxSide is the longest side of the poster frame.
	PosterMaxSide = 1280
)

// Errors returned by Process, wrapped with detail; match them with
// errors.Is. Their text is meant for the uploader.
var (
	ErrUnsupported = errors.New("video: unsupported file type")
	ErrNoVideo     = errors.New("video: the file has no video track")
	ErrCorrupt     = errors.New("video: the file could not be decoded")
	ErrTooLong     = errors.New("video: too long")
	ErrTooLarge    = errors.New("video: dimensions too large")
)

// Container is a recognised container, from the file's first bytes.
type Container string

const (
	MP4      Container = "mp4"      // ISO BMFF: mp4, m4v, QuickTime mov, 3gp
	Matroska Container = "matroska" // WebM and Matroska
	GIF      Container = "gif"
)

// Sniff recognises a video container (or a GIF) from the first bytes of
// a file, never from its name: an ISO BMFF "ftyp" box (or a QuickTime
// file starting with another top-level atom), or an EBML header. It
// returns "" for anything else.
func Sniff(head []byte) Container {
	switch {
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		return MP4
	case len(head) >= 8 && (string(head[4:8]) == "moov" || string(head[4:8]) == "mdat" || string(head[4:8]) == "wide" || string(head[4:8]) == "free") && binaryBigEndian(head[:4]) >= 8:
		return MP4 // old QuickTime files have no ftyp
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0x1a, 0x45, 0xdf, 0xa3}):
		return Matroska
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return GIF
	}
	return ""
}

func binaryBigEndian(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// Limits bound what Process accepts. Zero fields take the defaults.
type Limits struct {
	MaxDuration time.Duration
	MaxSide     int   // longest side of the input
	MaxPixels   int64 // width × height of the input
}

func (l Limits) withDefaults() Limits {
	if l.MaxDuration <= 0 {
		l.MaxDuration = DefaultMaxDuration
	}
	if l.MaxSide <= 0 {
		l.MaxSide = DefaultMaxSide
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	return l
}

// Result is a processed video: an H.264/AAC mp4 with its index first
// (faststart), without metadata, and a JPEG poster of its first second.
type Result struct {
	Path          string // the mp4, in the work directory given to Process
	Poster        []byte // JPEG
	Width, Height int    // as displayed (rotation applied)
	Duration      time.Duration
	FrameRate     string // "30/1"
	HasAudio      bool
	Remuxed       bool // the streams were copied, not re-encoded
	Loop          bool // from a GIF: a silent looping video (Mastodon's gifv)
}

// Runner runs ffmpeg or ffprobe (name) with the directory dir mounted as
// /w and nothing else of the file system visible, and returns its
// standard output. A non-zero exit is an error with an ExitCode() uint32
// method (package ffwasm's ExitError).
type Runner interface {
	Run(ctx context.Context, name, dir string, args ...string) ([]byte, error)
}

// Processor validates and converts videos with a Runner.
type Processor struct{ r Runner }

// New returns a Processor running ffmpeg with r.
func New(r Runner) *Processor { return &Processor{r: r} }

func (p *Processor) run(ctx context.Context, name, dir string, args ...string) ([]byte, error) {
	out, err := p.r.Run(ctx, name, dir, args...)
	if err != nil && !isExit(err) {
		return out, fmt.Errorf("video: %w", err)
	}
	return out, err
}

// isExit tells a program's non-zero exit (bad input) from a failure to
// run it.
func isExit(err error) bool {
	var ee interface{ ExitCode() uint32 }
	return errors.As(err, &ee)
}

// probe is what ffprobe tells of a file.
type probe struct {
	Streams []struct {
		CodecType   string `json:"codec_type"`
		CodecName   string `json:"codec_name"`
		PixFmt      string `json:"pix_fmt"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
		Duration    string `json:"duration"`
		FrameRate   string `json:"r_frame_rate"`
		Disposition struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		SideData []struct {
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// stream is the part of probe Process uses.
type info struct {
	format        string
	duration      time.Duration // 0: unknown
	vcodec        string
	pixfmt        string
	width, height int // coded
	rotation      int // degrees, multiple of 90
	frameRate     string
	acodec        string // "" without audio
}

func (p *Processor) probe(ctx context.Context, dir, file string) (info, error) {
	out, err := p.run(ctx, "ffprobe", dir, "-v", "error",
		"-show_entries", "format=format_name,duration:stream=codec_type,codec_name,pix_fmt,width,height,duration,r_frame_rate:stream_disposition=attached_pic:stream_side_data=rotation",
		"-of", "json", "/w/"+file)
	if isExit(err) {
		return info{}, fmt.Errorf("%w: the container could not be read", ErrCorrupt)
	}
	if err != nil {
		return info{}, err
	}
	var pr probe
	if err := json.Unmarshal(out, &pr); err != nil {
		return info{}, fmt.Errorf("%w: unreadable probe: %w", ErrCorrupt, err)
	}
	in := info{format: pr.Format.FormatName, duration: seconds(pr.Format.Duration)}
	for _, s := range pr.Streams {
		switch {
		case s.CodecType == "video" && s.Disposition.AttachedPic == 0 && in.vcodec == "":
			in.vcodec, in.pixfmt, in.width, in.height, in.frameRate = s.CodecName, s.PixFmt, s.Width, s.Height, s.FrameRate
			if in.duration == 0 {
				in.duration = seconds(s.Duration)
			}
			for _, sd := range s.SideData {
				in.rotation = ((int(math.Round(sd.Rotation/90))*90)%360 + 360) % 360
			}
		case s.CodecType == "audio" && in.acodec == "":
			in.acodec = s.CodecName
		}
	}
	return in, nil
}

// seconds parses ffprobe's "12.345000"; 0 when absent or invalid.
func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || f > 1e7 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// displaySize is the size as shown, after the rotation.
func (in info) displaySize() (int, int) {
	if in.rotation == 90 || in.rotation == 270 {
		return in.height, in.width
	}
	return in.width, in.height
}

// Process validates the video at dir/file by probing its content, then
// writes dir/out.mp4 (H.264/AAC, faststart, metadata stripped) and
// returns it with a poster. The streams are copied when they already are
// H.264 (8-bit 4:2:0) and AAC in an mp4 or mov; otherwise they are
// re-encoded (x264 "veryfast", CRF 23, at most OutputMaxSide; AAC 128
// kb/s). A GIF becomes a silent H.264 video (Result.Loop).
//
// Errors wrap ErrUnsupported, ErrNoVideo, ErrCorrupt, ErrTooLong or
// ErrTooLarge for bad input; others are failures of the processor. Only
// dir is visible to ffmpeg; Process leaves its files in dir.
func (p *Processor) Process(ctx context.Context, dir, file string, lim Limits) (Result, error) {
	lim = lim.withDefaults()
	head, err := readHead(filepath.Join(dir, file))
	if err != nil {
		return Result{}, err
	}
	c := Sniff(head)
	if c == "" {
		return Result{}, fmt.Errorf("%w: not an mp4, mov, WebM or GIF file", ErrUnsupported)
	}
	in, err := p.probe(ctx, dir, file)
	if err != nil {
		return Result{}, err
	}
	if err := check(c, in, lim); err != nil {
		return Result{}, err
	}
	args := []string{"-nostdin", "-v", "error", "-y", "-i", "/w/" + file,
		// Only the first video and audio streams; no metadata, chapters,
		// subtitles or data streams (GPS tracks, camera timecodes).
		"-map", "0:v:0", "-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn",
		"-map_metadata:s:v", "-1", "-map_metadata:s:a", "-1",
		"-t", strconv.FormatFloat((lim.MaxDuration + time.Second).Seconds(), 'f', 3, 64)}
	remux := c == MP4 && in.vcodec == "h264" && in.pixfmt == "yuv420p" && (in.acodec == "" || in.acodec == "aac")
	switch {
	case remux:
		args = append(args, "-c:v", "copy")
	default:
		args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
			"-vf", fmt.Sprintf("scale='min(%[1]d,iw)':'min(%[1]d,ih)':force_original_aspect_ratio=decrease,scale=trunc(iw/2)*2:trunc(ih/2)*2", OutputMaxSide))
		if c == GIF {
			args = append(args, "-r", "30")
		}
	}
	if in.acodec != "" && c != GIF {
		args = append(args, "-map", "0:a:0")
		if remux {
			args = append(args, "-c:a", "copy")
		} else {
			args = append(args, "-c:a", "aac", "-b:a", "128k")
		}
	} else {
		args = append(args, "-an")
	}
	args = append(args, "-movflags", "+faststart", "-f", "mp4", "/w/out.mp4")
	if _, err := p.run(ctx, "ffmpeg", dir, args...); err != nil {
		if isExit(err) {
			return Result{}, fmt.Errorf("%w: the video stream could not be converted", ErrCorrupt)
		}
		return Result{}, err
	}
	out, err := p.probe(ctx, dir, "out.mp4")
	if err != nil {
		return Result{}, fmt.Errorf("%w: converted file: %w", ErrCorrupt, err)
	}
	if out.vcodec != "h264" || out.duration <= 0 {
		return Result{}, fmt.Errorf("%w: the converted file has no playable video", ErrCorrupt)
	}
	if out.duration > lim.MaxDuration {
		return Result{}, fmt.Errorf("%w: longer than %s", ErrTooLong, lim.MaxDuration)
	}
	// A truncated file often probes with the duration its header
	// declares while its frames stop early.
	if in.duration > 2*time.Second && out.duration < in.duration*8/10 {
		return Result{}, fmt.Errorf("%w: only %.1f s of the %.1f s it declares could be read (truncated?)", ErrCorrupt, out.duration.Seconds(), in.duration.Seconds())
	}
	at := min(out.duration/2, time.Second)
	if _, err := p.run(ctx, "ffmpeg", dir, "-nostdin", "-v", "error", "-y",
		"-ss", strconv.FormatFloat(at.Seconds(), 'f', 3, 64), "-i", "/w/out.mp4",
		"-frames:v", "1", "-map_metadata", "-1",
		"-vf", fmt.Sprintf("scale='min(%[1]d,iw)':'min(%[1]d,ih)':force_original_aspect_ratio=decrease", PosterMaxSide),
		"-q:v", "3", "-f", "image2", "-c:v", "mjpeg", "/w/poster.jpg"); err != nil {
		if isExit(err) {
			return Result{}, fmt.Errorf("%w: no frame could be extracted", ErrCorrupt)
		}
		return Result{}, err
	}
	poster, err := os.ReadFile(filepath.Join(dir, "poster.jpg"))
	if err != nil || len(poster) == 0 {
		return Result{}, fmt.Errorf("%w: no frame could be extracted", ErrCorrupt)
	}
	w, h := out.displaySize()
	return Result{
		Path: filepath.Join(dir, "out.mp4"), Poster: poster, Width: w, Height: h,
		Duration: out.duration, FrameRate: out.frameRate, HasAudio: out.acodec != "",
		Remuxed: remux, Loop: c == GIF,
	}, nil
}

// check refuses what the probe shows unfit before anything is converted.
func check(c Container, in info, lim Limits) error {
	switch {
	case c == MP4 && !strings.Contains(in.format, "mp4"),
		c == Matroska && !strings.Contains(in.format, "matroska"),
		c == GIF && in.format != "gif":
		return fmt.Errorf("%w: the content is not what its header says (%s)", ErrUnsupported, in.format)
	case in.vcodec == "":
		return fmt.Errorf("%w (audio only?)", ErrNoVideo)
	case in.width <= 0 || in.height <= 0:
		return fmt.Errorf("%w: the video has no size", ErrCorrupt)
	case in.width > lim.MaxSide || in.height > lim.MaxSide || int64(in.width)*int64(in.height) > lim.MaxPixels:
		return fmt.Errorf("%w: %dx%d, at most %d pixels a side and %d in all", ErrTooLarge, in.width, in.height, lim.MaxSide, lim.MaxPixels)
	case in.duration > lim.MaxDuration:
		return fmt.Errorf("%w: %s, more than %s", ErrTooLong, in.duration.Round(time.Second), lim.MaxDuration)
	}
	return nil
}

func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	defer f.Close()
	head := make([]byte, 16)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("video: %w", err)
	}
	return head[:n], nil
}
