import QuiverArrow
import QuiverBytes
import QuiverIPC
