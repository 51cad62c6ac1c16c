//! Whether an IP address is public, and if not, what it is: the one rule the storage node's
//! egress policy enforces (it refuses to deliver to loopback, private, link-local, cloud
//! metadata and other non-global addresses unless its operator allows private egress) and the
//! one `consign buy` warns with before a buyer names such an address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not public.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressKind {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918: 10/8, 172.16/12, 192.168/16; also local-use NAT64 64:ff9b:1::/48.
    Private,
    /// 100.64.0.0/10, carrier-grade NAT (RFC 6598); some clouds put services there.
    SharedAddressSpace,
    /// 169.254.0.0/16, fe80::/10.
    LinkLocal,
    /// A cloud provider's instance metadata service (169.254.169.254, fd00:ec2::254,
    /// 168.63.129.16).
    CloudMetadata,
    /// fc00::/7.
    UniqueLocal,
    /// 0.0.0.0, ::.
    Unspecified,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18.0.0/15, 2001:2::/48.
    Benchmarking,
    /// Anything else that is not global unicast: 0/8, 192.0.0/24, 240/4, IPv6 outside
    /// 2000::/3, IETF protocol assignments (2001::/23), deprecated forms.
    Reserved,
}

impl fmt::Display for AddressKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::SharedAddressSpace => "a shared (carrier-grade NAT) address",
            Self::LinkLocal => "a link-local address",
            Self::CloudMetadata => "a cloud metadata service address",
            Self::UniqueLocal => "a unique local (private IPv6) address",
            Self::Unspecified => "the unspecified address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Reserved => "a reserved, non-global address",
        })
    }
}

/// Whether `ip` is public; if not, why. `None` means public.
pub fn classify(ip: IpAddr) -> Option<AddressKind> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressKind> {
    use AddressKind as K;
    let o = ip.octets();
    let kind = match o {
        [169, 254, 169, 254] | [168, 63, 129, 16] => K::CloudMetadata,
        [0, 0, 0, 0] => K::Unspecified,
        [0, ..] => K::Reserved,
        [127, ..] => K::Loopback,
        [10, ..] | [172, 16..=31, ..] | [192, 168, ..] => K::Private,
        [100, 64..=127, ..] => K::SharedAddressSpace,
        [169, 254, ..] => K::LinkLocal,
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => K::Documentation,
        [198, 18..=19, ..] => K::Benchmarking,
        [192, 0, 0, _] | [192, 88, 99, _] => K::Reserved,
        [255, 255, 255, 255] => K::Broadcast,
        [224..=239, ..] => K::Multicast,
        [240..=255, ..] => K::Reserved,
        _ => return None,
    };
    Some(kind)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressKind> {
    use AddressKind as K;
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    let kind = match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => K::Unspecified,
        [0, 0, 0, 0, 0, 0, 0, 1] => K::Loopback,
        // fd00:ec2::254, AWS's IPv6 metadata service (inside fc00::/7, named for clarity).
        [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254] => K::CloudMetadata,
        // NAT64 (RFC 6052): the embedded IPv4 address is where the packet goes.
        [0x0064, 0xff9b, 0, 0, 0, 0, hi, lo] => return classify_v4(embedded(hi, lo)),
        [0x0064, 0xff9b, 0x0001, ..] => K::Private,
        // 6to4 (2002::/16): the embedded IPv4 address is the relay's destination.
        [0x2002, hi, lo, ..] => return classify_v4(embedded(hi, lo)),
        [0x2001, 0x0db8, ..] => K::Documentation,
        [0x3fff, b, ..] if b < 0x1000 => K::Documentation,
        [0x2001, 0x0002, 0, ..] => K::Benchmarking,
        [0x2001, b, ..] if b < 0x0200 => K::Reserved,
        [a, ..] if a & 0xfe00 == 0xfc00 => K::UniqueLocal,
        [a, ..] if a & 0xffc0 == 0xfe80 => K::LinkLocal,
        [a, ..] if a & 0xff00 == 0xff00 => K::Multicast,
        // Only 2000::/3 is global unicast; the rest (the IPv4-compatible ::/96, discard-only
        // 100::/64, site-local fec0::/10, …) is reserved or deprecated.
        [a, ..] if a & 0xe000 != 0x2000 => K::Reserved,
        _ => return None,
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(ip: &str) -> Option<AddressKind> {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn ipv4_classification() {
        use AddressKind as K;
        let cases = [
            ("127.0.0.1", Some(K::Loopback)),
            ("127.255.0.9", Some(K::Loopback)),
            ("10.1.2.3", Some(K::Private)),
            ("172.16.0.1", Some(K::Private)),
            ("172.31.255.255", Some(K::Private)),
            ("172.32.0.1", None),
            ("192.168.1.1", Some(K::Private)),
            ("100.64.0.1", Some(K::SharedAddressSpace)),
            ("100.127.255.255", Some(K::SharedAddressSpace)),
            ("100.100.100.200", Some(K::SharedAddressSpace)),
            ("100.128.0.1", None),
            ("169.254.169.254", Some(K::CloudMetadata)),
            ("168.63.129.16", Some(K::CloudMetadata)),
            ("169.254.1.1", Some(K::LinkLocal)),
            ("0.0.0.0", Some(K::Unspecified)),
            ("0.1.2.3", Some(K::Reserved)),
            ("224.0.0.1", Some(K::Multicast)),
            ("239.255.255.250", Some(K::Multicast)),
            ("255.255.255.255", Some(K::Broadcast)),
            ("240.0.0.1", Some(K::Reserved)),
            ("192.0.0.8", Some(K::Reserved)),
            ("192.0.2.1", Some(K::Documentation)),
            ("198.51.100.7", Some(K::Documentation)),
            ("203.0.113.9", Some(K::Documentation)),
            ("198.18.0.1", Some(K::Benchmarking)),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("93.184.216.34", None),
        ];
        for (ip, expected) in cases {
            assert_eq!(kind(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_classification() {
        use AddressKind as K;
        let cases = [
            ("::", Some(K::Unspecified)),
            ("::1", Some(K::Loopback)),
            ("::ffff:127.0.0.1", Some(K::Loopback)),
            ("::ffff:10.0.0.1", Some(K::Private)),
            ("::ffff:169.254.169.254", Some(K::CloudMetadata)),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some(K::Reserved)),
            ("64:ff9b::7f00:1", Some(K::Loopback)),
            ("64:ff9b::808:808", None),
            ("64:ff9b:1::1", Some(K::Private)),
            ("2002:7f00:1::1", Some(K::Loopback)),
            ("2002:a9fe:a9fe::1", Some(K::CloudMetadata)),
            ("2002:808:808::1", None),
            ("fd00::1", Some(K::UniqueLocal)),
            ("fc00::1", Some(K::UniqueLocal)),
            ("fd00:ec2::254", Some(K::CloudMetadata)),
            ("fe80::1", Some(K::LinkLocal)),
            ("febf::1", Some(K::LinkLocal)),
            ("fec0::1", Some(K::Reserved)),
            ("ff02::1", Some(K::Multicast)),
            ("100::1", Some(K::Reserved)),
            ("2001:db8::1", Some(K::Documentation)),
            ("3fff::1", Some(K::Documentation)),
            ("2001:2::1", Some(K::Benchmarking)),
            ("2001::1", Some(K::Reserved)),
            ("2001:4860:4860::8888", None),
            ("2606:4700::1111", None),
            ("2a00:1450:4001::1", None),
        ];
        for (ip, expected) in cases {
            assert_eq!(kind(ip), expected, "{ip}");
        }
    }
}
