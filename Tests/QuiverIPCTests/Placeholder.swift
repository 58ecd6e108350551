import QuiverIPC
import Testing
