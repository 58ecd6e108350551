import Foundation
import QuiverBytes
import Testing

/// Errors a service can map: whose fault, which status, which errno.
@Suite struct ErrorKindTests {
    @Test func ioErrorsCarryTheirErrno() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-errno-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect { try FileDescriptor.open(directory.appendingPathComponent("missing").path, .readOnly) } throws: {
            let error = $0 as? QuiverError
            return error?.code == .io && error?.errno == ENOENT && error?.httpStatus == 500 && error?.isCallerError == false
        }
        // A directory opened for writing: EISDIR, whatever the user's privileges.
        #expect { try FileDescriptor.open(directory.path, .readWrite) } throws: {
            ($0 as? QuiverError)?.errno == EISDIR
        }
    }

    @Test func statusesFollowTheKind() {
        #expect(QuiverError(.invalidMessage, "x").httpStatus == 400)
        #expect(QuiverError(.invalidMessage, "x").isCallerError)
        #expect(QuiverError(.query, "x").httpStatus == 400)
        #expect(QuiverError(.notFound, "x").httpStatus == 404)
        #expect(QuiverError(.conflict, "x").httpStatus == 409)
        #expect(QuiverError(.capacityExceeded, "x").httpStatus == 413)
        #expect(QuiverError(.io, "write(f): No space left on device", errno: ENOSPC).httpStatus == 507)
        #expect(QuiverError(.io, "write(f): No space left on device", errno: ENOSPC).isOutOfSpace)
        #expect(!QuiverError(.io, "open(f): Permission denied", errno: EACCES).isOutOfSpace)
    }
}
