/// The employee id a Launchpad account's events are stored and reported under.
public enum EmployeeId {
    /// The suffix Launchpad gives the name of an account it deactivates (`Person.deactivate`:
    /// `<name>-deactivatedaccount`, with a number after it when that name is taken), freeing the
    /// name for others; reactivation takes it off again.
    public static let deactivatedSuffix = "-deactivatedaccount"

    /// The employee id of account `name`: its name, without the suffix of a deactivated
    /// account. A team run with former members reads a deactivated account under its new name
    /// (`alice-deactivatedaccount`); under that name, the events earlier runs stored as
    /// `alice`'s — the same ids — would move to another employee, and `alice`'s weeks, still
    /// recorded as read whole, would count fewer events.
    public static func of(account name: String) -> String {
        var base = Substring(name)
        while let last = base.last, ("0"..."9").contains(last) { base.removeLast() }
        guard base.hasSuffix(deactivatedSuffix), base.count > deactivatedSuffix.count else { return name }
        return String(base.dropLast(deactivatedSuffix.count))
    }
}
