import QuiverQuery
import Testing
