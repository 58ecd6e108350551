// `import Quiver` brings in the whole public API: buffers and errors, Arrow arrays, IPC
// readers and writers, the store, the query engine and the result writers.
@_exported import QuiverArrow
@_exported import QuiverBytes
@_exported import QuiverIPC
@_exported import QuiverOutput
@_exported import QuiverQuery
@_exported import QuiverStore
