package wsman

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

func TestBase64MatchesStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 400 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(rng.Uint32())
		}
		want := base64.StdEncoding.EncodeToString(src)
		got := make([]byte, len(want))
		encodeBase64(got, src)
		if string(got) != want {
			t.Fatalf("encode %d bytes: %q, want %q", n, got, want)
		}
		prefix := []byte("keep")
		dec, ok := appendDecodeBase64(prefix, []byte(want))
		if !ok || !bytes.Equal(dec[:4], []byte("keep")) || !bytes.Equal(dec[4:], src) {
			t.Fatalf("decode %d bytes: ok=%v %x, want %x", n, ok, dec, src)
		}
	}
}

func TestBase64DecodeRefusesWhatItCannotDecode(t *testing.T) {
	for _, in := range []string{
		"QUJD\r\nREVG", // line breaks: left to encoding/base64
		"QUJD REVG",
		"QUJDREVG=",    // bad length
		"QU=DREVGSElK", // padding inside
		"QUJD!EVGSElK", // not in the alphabet
		"QUJDREVGSElK\x80AAA",
		"QUJDRA==QUJD",
	} {
		dst := []byte("x")
		out, ok := appendDecodeBase64(dst, []byte(in))
		if ok {
			if std, err := base64.StdEncoding.DecodeString(in); err != nil || !bytes.Equal(out[1:], std) {
				t.Errorf("%q: fast path accepted %x; stdlib %x, %v", in, out, std, err)
			}
			continue
		}
		if string(out) != "x" {
			t.Errorf("%q: refused but dst changed to %q", in, out)
		}
	}
}

// FuzzBase64 checks the fast paths against encoding/base64: the encoder
// always matches; the decoder matches whenever it accepts, and accepts
// everything StdEncoding produces.
func FuzzBase64(f *testing.F) {
	f.Add([]byte("hello, world"), "aGVsbG8sIHdvcmxk")
	f.Add([]byte{0xff, 0xfe, 0}, "QUJD\nREVG")
	f.Add([]byte{}, "QQ==")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		want := base64.StdEncoding.EncodeToString(data)
		got := make([]byte, len(want))
		encodeBase64(got, data)
		if string(got) != want {
			t.Fatalf("encode: %q, want %q", got, want)
		}
		if dec, ok := appendDecodeBase64(nil, got); !ok || !bytes.Equal(dec, data) {
			t.Fatalf("round trip: ok=%v %x, want %x", ok, dec, data)
		}
		if dec, ok := appendDecodeBase64(nil, []byte(text)); ok {
			std, err := base64.StdEncoding.DecodeString(text)
			if err != nil || !bytes.Equal(dec, std) {
				t.Fatalf("%q: fast %x, stdlib %x, %v", text, dec, std, err)
			}
		}
	})
}

func benchData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func BenchmarkBase64Encode(b *testing.B) {
	src := benchData(384 << 10)
	dst := make([]byte, base64.StdEncoding.EncodedLen(len(src)))
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			base64.StdEncoding.Encode(dst, src)
		}
	})
	b.Run("wsman", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			encodeBase64(dst, src)
		}
	})
}

func BenchmarkBase64Decode(b *testing.B) {
	src := []byte(base64.StdEncoding.EncodeToString(benchData(384 << 10)))
	dst := make([]byte, 0, len(src))
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			base64.StdEncoding.AppendDecode(dst[:0], src)
		}
	})
	b.Run("wsman", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			appendDecodeBase64(dst[:0], src)
		}
	})
}
