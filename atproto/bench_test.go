package atproto

import (
	"bytes"
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFitForBluesky measures the re-encoding of a 12-megapixel photo
// (as stored after upload) for Bluesky, at the default limit and at the
// 1,000,000 bytes older PDS versions (such as the pinned test PDS) take.
func BenchmarkFitForBluesky(b *testing.B) {
	src, err := media.Process(bytesReader(photoJPEG(b, 4000, 3000, 12)), media.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	store := storagetest.OpenSQLite(b)
	m, err := New(Settings{HTTPClient: http.DefaultClient}, store, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	for _, limit := range []int64{2_000_000, 1_000_000} {
		b.Run(map[int64]string{2_000_000: "2000000", 1_000_000: "1000000"}[limit], func(b *testing.B) {
			b.ReportAllocs()
			var out media.Image
			cpu := cpuTime()
			id := int64(0)
			for b.Loop() {
				id++ // a new media each time: no cache
				if out, err = m.fittedData(context.Background(), storage.Media{ID: id, MediaType: src.MediaType}, src.Data, limit); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(len(out.Data)), "out-bytes")
			b.ReportMetric(float64(len(src.Data)), "in-bytes")
		})
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
