import ArgumentParser

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
}
