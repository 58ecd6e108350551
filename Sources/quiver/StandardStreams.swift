import QuiverBytes
import QuiverIPC

// The command line's convention: a path of `-` names standard input or standard output.

/// Opens the Arrow file or stream at `path`, or standard input for `-`.
func openInput(_ path: String) throws -> ArrowInput {
    path == "-" ? try ArrowInput.openStandardInput() : try ArrowInput.open(path: path)
}

/// Opens an output path, or standard output for `-`.
func openOutput(_ path: String) throws -> FileOutput {
    path == "-" ? FileOutput.standardOutput() : try FileOutput(path: path)
}
