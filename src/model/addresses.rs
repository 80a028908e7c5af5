//! Stage 2 (model) — IPv4 address ranges: which are public, once for validation (what a spec may
//! open) and for the NetworkPolicies that open "public addresses".

use std::sync::OnceLock;

/// Non-public IPv4 ranges: private (the cluster's nodes, pods and services, and other tenants'
/// pods), link-local (metadata servers), shared address space (carrier-grade NAT, and EKS custom
/// pod networking), loopback, "this network", IETF protocol assignments, benchmarking, multicast
/// and reserved.
pub const NON_PUBLIC_RANGES: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
];

/// `a.b.c.d/n` as the half-open range of addresses it covers (host bits ignored).
pub fn ipv4_range(cidr: &str) -> Option<(u64, u64)> {
    let (ip, bits) = cidr.split_once('/')?;
    let ip = u64::from(u32::from(ip.parse::<std::net::Ipv4Addr>().ok()?));
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32)?;
    let size = 1u64 << (32 - bits);
    let start = ip & !(size - 1);
    Some((start, start + size))
}

/// Every public IPv4 address as the fewest CIDR blocks, in address order: the complement of
/// [`NON_PUBLIC_RANGES`]. A NetworkPolicy opens "public addresses" with these blocks rather than
/// `0.0.0.0/0` with `except`, which some network policy agents merge wrongly with the pod's other
/// rules (aws-network-policy-agent #326, #344).
pub fn public_blocks() -> &'static [String] {
    static BLOCKS: OnceLock<Vec<String>> = OnceLock::new();
    BLOCKS.get_or_init(|| {
        let mut hidden: Vec<(u64, u64)> = NON_PUBLIC_RANGES
            .iter()
            .filter_map(|c| ipv4_range(c))
            .collect();
        hidden.sort_unstable();
        let mut blocks = Vec::new();
        let mut at = 0u64;
        for (start, end) in hidden.into_iter().chain([(1 << 32, 1 << 32)]) {
            cover(at, start, &mut blocks);
            at = at.max(end);
        }
        blocks
    })
}

/// Appends the fewest CIDR blocks that cover `[from, to)`.
fn cover(mut from: u64, to: u64, out: &mut Vec<String>) {
    while from < to {
        // The largest aligned block at `from` that fits.
        let mut size = if from == 0 {
            1 << 32
        } else {
            1u64 << from.trailing_zeros()
        };
        while from + size > to {
            size >>= 1;
        }
        let ip = std::net::Ipv4Addr::from(u32::try_from(from).unwrap_or(u32::MAX));
        out.push(format!("{ip}/{}", 32 - size.trailing_zeros()));
        from += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_blocks_cover_exactly_what_no_non_public_range_does() {
        let blocks: Vec<(u64, u64)> = public_blocks()
            .iter()
            .map(|b| ipv4_range(b).expect("a CIDR"))
            .collect();
        let hidden: Vec<(u64, u64)> = NON_PUBLIC_RANGES
            .iter()
            .map(|c| ipv4_range(c).expect("a CIDR"))
            .collect();
        // Adjacent, in order, and together with the hidden ranges they make up every address.
        let public: u64 = blocks.iter().map(|(s, e)| e - s).sum();
        let private: u64 = hidden.iter().map(|(s, e)| e - s).sum();
        assert_eq!(public + private, 1 << 32);
        for (s, e) in &blocks {
            assert!(hidden.iter().all(|(hs, he)| e <= hs || s >= he), "{s}-{e}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "54.239.28.85",
            "100.63.255.255",
            "100.128.0.0",
            "223.255.255.255",
            "198.51.100.17",
        ] {
            let ip = u64::from(u32::from(ip.parse::<std::net::Ipv4Addr>().expect("ip")));
            assert!(blocks.iter().any(|(s, e)| (*s..*e).contains(&ip)), "{ip}");
        }
        // The complement of eleven ranges: 73 blocks, each one ipBlock of a rule.
        assert!(blocks.len() <= 80, "{} blocks", blocks.len());
    }
}
