extension StringProtocol {
    /// Without leading and trailing whitespace: spaces, tabs and line breaks (environment values
    /// read from files, as Kubernetes secrets mount them, end in a line break; lines of key
    /// files written on Windows end in a carriage return, and `\r\n` is one `Character`).
    var trimmedOfSpaces: String {
        guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}
