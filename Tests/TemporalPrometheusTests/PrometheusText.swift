import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One sample of the Prometheus text format: `name{label="value",…} number`.
struct Sample: CustomStringConvertible {
    var name: String
    var labels: [String: String]
    var value: Double
    var description: String { "\(name)\(labels.sorted { $0.key < $1.key }) \(value)" }
}

/// Parses the sample lines of a scrape (comments and blank lines skipped).
func parseSamples(_ text: String) -> [Sample] {
    text.split(separator: "\n").compactMap { line -> Sample? in
        if line.hasPrefix("#") { return nil }
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else {
            return Sample(name: String(series), labels: [:], value: value)
        }
        var labels: [String: String] = [:]
        var rest = series[series.index(after: brace)...].dropLast()  // without the closing brace
        while let eq = rest.firstIndex(of: "=") {
            let key = rest[..<eq].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
            var i = rest.index(eq, offsetBy: 2)  // past ="
            var value = ""
            while i < rest.endIndex, rest[i] != "\"" {
                if rest[i] == "\\", rest.index(after: i) < rest.endIndex { i = rest.index(after: i) }
                value.append(rest[i])
                i = rest.index(after: i)
            }
            labels[key] = value
            rest = i < rest.endIndex ? rest[rest.index(after: i)...] : rest[rest.endIndex...]
        }
        return Sample(name: String(series[..<brace]), labels: labels, value: value)
    }
}

extension Array where Element == Sample {
    /// The samples named `name` whose labels include `labels`.
    func matching(_ name: String, _ labels: [String: String] = [:]) -> [Sample] {
        filter { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }
    }

    /// The sum of the matching samples' values (nil when none matches).
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let m = matching(name, labels)
        return m.isEmpty ? nil : m.reduce(0) { $0 + $1.value }
    }
}

/// A plain HTTP request over a real socket; returns status, content type and body.
func httpRequest(_ url: String, method: String = "GET") async throws -> (status: Int, contentType: String, body: String) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.timeoutInterval = 30
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    return (http.statusCode, http.value(forHTTPHeaderField: "Content-Type") ?? "", String(decoding: data, as: UTF8.self))
}
