import Logging

/// Adds a task's metadata (workflow id, activity type, attempt, …) to the lines its logger
/// emits, merging it only when a line is emitted.
///
/// Setting metadata on the worker's own handler instead costs more than many tasks: swift-log's
/// `StreamLogHandler` renders all of its metadata again on every set (eight times per activity
/// attempt; 12 % of a sequential BenchFlow worker's instructions under callgrind). Here the
/// context is kept as the literal it was given (no dictionary, no hashing: most tasks log
/// nothing) and becomes a dictionary only when a line is emitted or the metadata is used.
/// Precedence, lowest first: the base handler's own metadata, its `metadataProvider`'s, the
/// context (of a key set twice, the later value), metadata passed with the line.
struct ContextLogHandler: LogHandler {
    var base: any LogHandler
    /// The context as given (a later pair for a key overrides an earlier one) …
    private var given: KeyValuePairs<String, Logger.MetadataValue>
    /// … until a setter changes it: from then on, the context.
    private var edited: Logger.Metadata?

    init(base: any LogHandler, context: KeyValuePairs<String, Logger.MetadataValue>) {
        self.base = base
        given = context
    }

    /// The context as a dictionary.
    var context: Logger.Metadata {
        edited ?? Dictionary(given.lazy.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
    }

    var metadata: Logger.Metadata {
        get { base.metadata.merging(context) { $1 } }
        set {
            base.metadata = [:]
            edited = newValue
        }
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { context[key] ?? base[metadataKey: key] }
        set {
            var changed = context
            changed[key] = newValue
            edited = changed
            // Removing a key removes it from the base too, or the getter would fall back to it.
            if newValue == nil, base[metadataKey: key] != nil { base[metadataKey: key] = nil }
        }
    }

    func log(event: LogEvent) {
        var event = event
        event.metadata = event.metadata.map { context.merging($0) { $1 } } ?? context
        base.log(event: event)
    }
}

extension Logger {
    /// This logger with `context` added to every line it emits (see `ContextLogHandler`).
    func adding(_ context: KeyValuePairs<String, Logger.MetadataValue>) -> Logger {
        var copy = self
        copy.handler = ContextLogHandler(base: handler, context: context)
        return copy
    }
}
