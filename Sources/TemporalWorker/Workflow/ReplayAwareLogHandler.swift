import Logging

/// Forwards to a base handler, except while the run replays history (so each message is
/// logged once, when the code first executes).
struct ReplayAwareLogHandler: LogHandler {
    var base: any LogHandler
    let flag: ReplayFlag

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        guard !flag.value else { return }
        base.log(event: event)
    }
}
