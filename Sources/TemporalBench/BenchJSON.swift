import Foundation

/// Writes a scenario's results as pretty, key-sorted JSON (the `--json FILE` of every scenario).
func writeBenchJSON(_ value: some Encodable, to path: String?) throws {
    guard let path else { return }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(value).write(to: URL(fileURLWithPath: path))
}

/// One timed measurement of a count of operations (RPC calls, stored events), for JSON output.
struct RateResult: Codable {
    /// What was measured, e.g. "GetSystemInfo sequential" or "store fresh".
    var scenario: String
    var operations: Int
    var seconds: Double
    var operationsPerSecond: Double
    /// Extra figures of the scenario (rows changed, batch size, concurrency, …).
    var details: [String: Double] = [:]

    init(scenario: String, operations: Int, seconds: Double, details: [String: Double] = [:]) {
        self.scenario = scenario
        self.operations = operations
        self.seconds = seconds
        self.operationsPerSecond = seconds > 0 ? Double(operations) / seconds : 0
        self.details = details
    }
}
