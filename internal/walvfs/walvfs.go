package walvfs

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// Name is the name under which the VFS is registered; a connection uses it
// with the vfs parameter of its DSN (file:path?vfs=cpms-wal).
const Name = "cpms-wal"

// bufSize is the size of a log file's buffer: the most the unix VFS writes
// in one call (it masks larger sizes to 17 bits), 31 frames of 4 KiB
// pages. A commit of more pages is written in calls of this size.
const bufSize = 0x1ffff

// file is the head of a sqlite3_file opened by this VFS for a log; the
// unix VFS's own file follows it, at offset innerOff. Both live in memory
// that SQLite allocated (szOsFile bytes), outside Go's heap.
type file struct {
	base sqlite3.Tsqlite3_file // pMethods: &logMethods
	buf  uintptr               // bufSize bytes from libc.Xmalloc; 0 if that failed
	off  int64                 // the file offset of buf's first byte
	n    int32                 // bytes buffered
	// commit is set when the last write was the header of a commit frame:
	// the write of its page ends the commit's frames.
	commit bool
}

const innerOff = unsafe.Sizeof(file{})

var (
	once sync.Once
	err  error

	vfs        sqlite3.Tsqlite3_vfs
	unix       *sqlite3.Tsqlite3_vfs
	logMethods sqlite3.Tsqlite3_io_methods

	// writes counts the calls made to the unix VFS to write a log, and
	// buffered the writes SQLite made to it: see Stats.
	writes, buffered atomic.Int64
)

// Register registers the VFS with SQLite, once per process; later calls
// return the first call's result.
func Register() error {
	once.Do(func() { err = register() })
	return err
}

func register() error {
	tls := libc.NewTLS()
	defer tls.Close()
	def := sqlite3.Xsqlite3_vfs_find(tls, 0)
	if def == 0 {
		return fmt.Errorf("walvfs: SQLite has no default VFS")
	}
	unix = (*sqlite3.Tsqlite3_vfs)(ptr(def))
	vfs = *unix
	vfs.FpNext = 0
	vfs.FszOsFile = unix.FszOsFile + int32(innerOff)
	name, e := libc.CString(Name) // kept for the life of the process, as SQLite requires
	if e != nil {
		return fmt.Errorf("walvfs: %w", e)
	}
	vfs.FzName = name
	setFn(&vfs.FxOpen, xOpen)

	logMethods.FiVersion = 1 // a log is never memory-mapped, nor has shared memory
	setFn(&logMethods.FxClose, xClose)
	setFn(&logMethods.FxRead, xRead)
	setFn(&logMethods.FxWrite, xWrite)
	setFn(&logMethods.FxTruncate, xTruncate)
	setFn(&logMethods.FxSync, xSync)
	setFn(&logMethods.FxFileSize, xFileSize)
	setFn(&logMethods.FxLock, xLock)
	setFn(&logMethods.FxUnlock, xUnlock)
	setFn(&logMethods.FxCheckReservedLock, xCheckReservedLock)
	setFn(&logMethods.FxFileControl, xFileControl)
	setFn(&logMethods.FxSectorSize, xSectorSize)
	setFn(&logMethods.FxDeviceCharacteristics, xDeviceCharacteristics)

	if rc := sqlite3.Xsqlite3_vfs_register(tls, uintptr(unsafe.Pointer(&vfs)), 0); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("walvfs: register: SQLite error %d", rc)
	}
	return nil
}

// Stats reports, since the process started, how many writes SQLite made to
// logs through the VFS and how many calls wrote them to the files.
func Stats() (sqliteWrites, fileWrites int64) {
	return buffered.Load(), writes.Load()
}

// xOpen opens every file with the unix VFS. A log gets this package's
// methods and the unix file after its head; any other file is the unix
// file itself, at the start of the space SQLite gave.
func xOpen(tls *libc.TLS, _ uintptr, zName uintptr, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	if flags&sqlite3.SQLITE_OPEN_WAL == 0 {
		return callOpen(unix.FxOpen)(tls, uintptr(unsafe.Pointer(unix)), zName, pFile, flags, pOutFlags)
	}
	f := (*file)(ptr(pFile))
	*f = file{}
	if rc := callOpen(unix.FxOpen)(tls, uintptr(unsafe.Pointer(unix)), zName, pFile+innerOff, flags, pOutFlags); rc != sqlite3.SQLITE_OK {
		return rc // f.base.FpMethods stays 0: SQLite does not close a file it failed to open
	}
	f.buf = libc.Xmalloc(tls, bufSize) // without it, writes go straight through
	f.base.FpMethods = uintptr(unsafe.Pointer(&logMethods))
	return sqlite3.SQLITE_OK
}

// inner returns the unix file of a log and its methods.
func inner(pFile uintptr) (uintptr, *sqlite3.Tsqlite3_io_methods) {
	p := pFile + innerOff
	return p, (*sqlite3.Tsqlite3_io_methods)(ptr((*sqlite3.Tsqlite3_file)(ptr(p)).FpMethods))
}

// flush writes what is buffered in one call.
func flush(tls *libc.TLS, pFile uintptr) int32 {
	f := (*file)(ptr(pFile))
	if f.n == 0 {
		return sqlite3.SQLITE_OK
	}
	p, m := inner(pFile)
	rc := callRW(m.FxWrite)(tls, p, f.buf, f.n, f.off)
	writes.Add(1)
	f.n = 0
	return rc
}

// frameHeader is the size of the header SQLite writes before each page of
// the log; its bytes 4 to 7 hold, in the header of a commit's last frame,
// the size of the database after the commit, and zero in any other.
const frameHeader = 24

// xWrite buffers a write that follows the buffered bytes in the file, and
// writes out the buffer first otherwise. The write of a commit's last
// page writes out the buffer too: SQLite publishes the commit to other
// connections right after it, without syncing the log first under
// synchronous=NORMAL.
func xWrite(tls *libc.TLS, pFile uintptr, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	buffered.Add(1)
	f := (*file)(ptr(pFile))
	endsCommit := f.commit
	f.commit = iAmt == frameHeader && [4]byte(mem(zBuf+4, 4)) != [4]byte{}
	if rc := bufWrite(tls, pFile, zBuf, iAmt, iOfst); rc != sqlite3.SQLITE_OK || !endsCommit {
		return rc
	}
	return flush(tls, pFile)
}

func bufWrite(tls *libc.TLS, pFile uintptr, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	f := (*file)(ptr(pFile))
	if f.n > 0 && iOfst == f.off+int64(f.n) && int(f.n)+int(iAmt) <= bufSize {
		copy(mem(f.buf+uintptr(f.n), iAmt), mem(zBuf, iAmt))
		f.n += iAmt
		return sqlite3.SQLITE_OK
	}
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	if f.buf == 0 || int(iAmt) > bufSize/2 {
		p, m := inner(pFile)
		writes.Add(1)
		return callRW(m.FxWrite)(tls, p, zBuf, iAmt, iOfst)
	}
	copy(mem(f.buf, iAmt), mem(zBuf, iAmt))
	f.off, f.n = iOfst, iAmt
	return sqlite3.SQLITE_OK
}

func xRead(tls *libc.TLS, pFile uintptr, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	p, m := inner(pFile)
	return callRW(m.FxRead)(tls, p, zBuf, iAmt, iOfst)
}

func xSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	p, m := inner(pFile)
	return callInt(m.FxSync)(tls, p, flags)
}

func xTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	p, m := inner(pFile)
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&m.FxTruncate)))(tls, p, size)
}

func xFileSize(tls *libc.TLS, pFile uintptr, pSize uintptr) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	p, m := inner(pFile)
	return callPtr(m.FxFileSize)(tls, p, pSize)
}

func xFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	p, m := inner(pFile)
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&m.FxFileControl)))(tls, p, op, pArg)
}

// xClose writes what is left, closes the unix file and frees the buffer.
// SQLite does not use a file whose close failed.
func xClose(tls *libc.TLS, pFile uintptr) int32 {
	rc := flush(tls, pFile)
	p, m := inner(pFile)
	if rc2 := callFile(m.FxClose)(tls, p); rc == sqlite3.SQLITE_OK {
		rc = rc2
	}
	f := (*file)(ptr(pFile))
	if f.buf != 0 {
		libc.Xfree(tls, f.buf)
		f.buf = 0
	}
	return rc
}

func xLock(tls *libc.TLS, pFile uintptr, lock int32) int32 {
	p, m := inner(pFile)
	return callInt(m.FxLock)(tls, p, lock)
}

func xUnlock(tls *libc.TLS, pFile uintptr, lock int32) int32 {
	p, m := inner(pFile)
	return callInt(m.FxUnlock)(tls, p, lock)
}

func xCheckReservedLock(tls *libc.TLS, pFile uintptr, pResOut uintptr) int32 {
	p, m := inner(pFile)
	return callPtr(m.FxCheckReservedLock)(tls, p, pResOut)
}

func xSectorSize(tls *libc.TLS, pFile uintptr) int32 {
	p, m := inner(pFile)
	return callFile(m.FxSectorSize)(tls, p)
}

func xDeviceCharacteristics(tls *libc.TLS, pFile uintptr) int32 {
	p, m := inner(pFile)
	return callFile(m.FxDeviceCharacteristics)(tls, p)
}

// SQLite's tables hold C function pointers as uintptr; modernc.org/sqlite
// stores a Go func value's pointer there and calls through it the same way.

func setFn[F any](slot *uintptr, fn F) { *(*F)(unsafe.Pointer(slot)) = fn }

func callOpen(fp uintptr) func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32 {
	return *(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&fp))
}

func callRW(fp uintptr) func(*libc.TLS, uintptr, uintptr, int32, int64) int32 {
	return *(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&fp))
}

func callInt(fp uintptr) func(*libc.TLS, uintptr, int32) int32 {
	return *(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&fp))
}

func callPtr(fp uintptr) func(*libc.TLS, uintptr, uintptr) int32 {
	return *(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&fp))
}

func callFile(fp uintptr) func(*libc.TLS, uintptr) int32 {
	return *(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&fp))
}

// ptr turns an address in SQLite's memory into a pointer; that memory is
// not Go's, so the collector neither moves nor frees it.
func ptr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

func mem(p uintptr, n int32) []byte { return unsafe.Slice((*byte)(ptr(p)), n) }
