import ArgumentParser
import QuiverBytes

/// The `quiver` command line tool.
@main
struct Quiver: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver",
        abstract: "Read, write, inspect, convert and query Arrow IPC files and streams.",
        subcommands: [
            SchemaCommand.self, InfoCommand.self, CatCommand.self, ConvertCommand.self,
            IntegrationCommand.self, DemoCommand.self, QueryCommand.self, StoreCommand.self, CheckCommand.self,
            RepairCommand.self,
        ])

    /// Sets the process's heap policy (`ProcessAllocator`) before any command runs.
    static func main() {
        ProcessAllocator.keepLargeAllocationsResident()
        main(nil)
    }
}
