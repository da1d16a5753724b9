package procutil

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// The few ELF header fields TryReleaseStartupPages needs are read here by
// hand: with debug/elf (which brings debug/dwarf and more) kubeadmin grew
// by 172 KB, with this reader by 29 KB.

// ELF values (see elf(5)).
const (
	elfClass32  = 1
	elfClass64  = 2
	elfData2LSB = 1
	elfData2MSB = 2

	etExec = 2
	etDyn  = 3

	ptLoad     = 1
	ptDynamic  = 2
	ptInterp   = 3
	ptGNURelro = 0x6474e552

	pfW = 2

	pnXNum = 0xffff
)

// segment is one program header.
type segment struct {
	typ, flags          uint32
	offset, vaddr, size uint64 // size is p_filesz
}

// image is what the ELF headers of an executable say about its loading.
type image struct {
	path     string
	typ      uint16
	segments []segment
}

// readImage reads the ELF file header and program headers of path.
func readImage(path string) (*image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := parseImage(f)
	if err != nil {
		return nil, fmt.Errorf("not releasing the executable's start-up pages: %s: %w", path, err)
	}
	img.path = path
	return img, nil
}

func parseImage(r io.ReaderAt) (*image, error) {
	var hdr [64]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil && err != io.EOF {
		return nil, err
	}
	if !bytes.Equal(hdr[:4], []byte("\x7fELF")) {
		return nil, fmt.Errorf("not an ELF file")
	}
	var bo binary.ByteOrder
	switch hdr[5] {
	case elfData2LSB:
		bo = binary.LittleEndian
	case elfData2MSB:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("unknown ELF byte order %d", hdr[5])
	}
	img := &image{typ: bo.Uint16(hdr[16:])}
	var phoff uint64
	var phentsize, phnum int
	switch hdr[4] {
	case elfClass64:
		phoff = bo.Uint64(hdr[32:])
		phentsize, phnum = int(bo.Uint16(hdr[54:])), int(bo.Uint16(hdr[56:]))
		if phentsize < 56 {
			return nil, fmt.Errorf("program header size %d is too small", phentsize)
		}
	case elfClass32:
		phoff = uint64(bo.Uint32(hdr[28:]))
		phentsize, phnum = int(bo.Uint16(hdr[42:])), int(bo.Uint16(hdr[44:]))
		if phentsize < 32 {
			return nil, fmt.Errorf("program header size %d is too small", phentsize)
		}
	default:
		return nil, fmt.Errorf("unknown ELF class %d", hdr[4])
	}
	if phnum == pnXNum {
		return nil, fmt.Errorf("too many program headers")
	}
	table := make([]byte, phentsize*phnum)
	if _, err := r.ReadAt(table, int64(phoff)); err != nil {
		return nil, fmt.Errorf("reading the program headers: %w", err)
	}
	for i := 0; i < phnum; i++ {
		ph := table[i*phentsize:]
		var s segment
		if hdr[4] == elfClass64 {
			s = segment{typ: bo.Uint32(ph), flags: bo.Uint32(ph[4:]), offset: bo.Uint64(ph[8:]), vaddr: bo.Uint64(ph[16:]), size: bo.Uint64(ph[32:])}
		} else {
			s = segment{typ: bo.Uint32(ph), offset: uint64(bo.Uint32(ph[4:])), vaddr: uint64(bo.Uint32(ph[8:])), size: uint64(bo.Uint32(ph[16:])), flags: bo.Uint32(ph[24:])}
		}
		img.segments = append(img.segments, s)
	}
	return img, nil
}

// releasable says why the read-only pages of img might not hold the file's
// bytes, or nil if nothing can have written to them: a fixed-address
// executable (ET_EXEC) that no dynamic loader touches.
func (img *image) releasable() error {
	switch img.typ {
	case etExec:
	case etDyn:
		return fmt.Errorf("%s is position-independent (ELF type ET_DYN): the loader relocates it, possibly in pages it then makes read-only", img.path)
	default:
		return fmt.Errorf("%s has ELF type %d, not an executable (ET_EXEC)", img.path, img.typ)
	}
	for _, s := range img.segments {
		switch s.typ {
		case ptInterp:
			return fmt.Errorf("%s is dynamically linked (PT_INTERP): its loader may write relocations into read-only pages", img.path)
		case ptDynamic:
			return fmt.Errorf("%s has dynamic relocations (PT_DYNAMIC)", img.path)
		case ptGNURelro:
			return fmt.Errorf("%s has pages made read-only after relocation (PT_GNU_RELRO)", img.path)
		}
	}
	return nil
}

// pristine tells whether the mapping m shows file bytes of one read-only
// loadable segment, at the address and file offset that segment gives.
func (img *image) pristine(m mapping, page uint64) bool {
	for _, s := range img.segments {
		if s.typ != ptLoad || s.flags&pfW != 0 || s.size == 0 {
			continue
		}
		first := s.vaddr &^ (page - 1)
		end := (s.vaddr + s.size + page - 1) &^ (page - 1)
		if m.start < first || m.end > end {
			continue
		}
		if m.offset == s.offset&^(page-1)+(m.start-first) {
			return true
		}
	}
	return false
}
