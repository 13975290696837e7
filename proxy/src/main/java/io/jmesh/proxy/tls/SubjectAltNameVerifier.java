package io.jmesh.proxy.tls;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.jmesh.proxy.config.ConfigException;

/**
 * Checks a peer certificate's subject alternative names against {@code match_typed_subject_alt_names} (or the
 * legacy {@code match_subject_alt_names}, which matches DNS, URI, IP and email SANs): the certificate passes
 * when any matcher matches any SAN of its type. A DNS SAN with a leading wildcard ({@code *.example.com})
 * matches an {@code exact} matcher for one more label, as in Envoy. Immutable.
 */
final class SubjectAltNameVerifier {

    // java.security.cert general-name tags
    private static final int RFC822 = 1;
    private static final int DNS = 2;
    private static final int URI = 6;
    private static final int IP = 7;

    private record Rule(int[] tags, StringMatcher matcher, Pattern regex) {
    }

    private final List<Rule> rules;

    private SubjectAltNameVerifier(List<Rule> rules) {
        this.rules = rules;
    }

    /** Null when the context matches no SAN. */
    @SuppressWarnings("deprecation") // legacy match_subject_alt_names is still honoured
    static SubjectAltNameVerifier of(CertificateValidationContext v, String path) throws ConfigException {
        List<Rule> rules = new ArrayList<>();
        for (int i = 0; i < v.getMatchTypedSubjectAltNamesCount(); i++) {
            SubjectAltNameMatcher m = v.getMatchTypedSubjectAltNames(i);
            String p = path + ".match_typed_subject_alt_names[" + i + ']';
            int tag;
            switch (m.getSanType()) {
                case EMAIL: tag = RFC822; break;
                case DNS: tag = DNS; break;
                case URI: tag = URI; break;
                case IP_ADDRESS: tag = IP; break;
                default: throw new ConfigException(p + ".san_type: " + m.getSanType()
                                                   + " (expected: EMAIL, DNS, URI or IP_ADDRESS)");
            }
            rules.add(rule(new int[] { tag }, m.getMatcher(), p + ".matcher"));
        }
        for (int i = 0; i < v.getMatchSubjectAltNamesCount(); i++) {
            rules.add(rule(new int[] { DNS, URI, IP, RFC822 }, v.getMatchSubjectAltNames(i),
                           path + ".match_subject_alt_names[" + i + ']'));
        }
        return rules.isEmpty() ? null : new SubjectAltNameVerifier(List.copyOf(rules));
    }

    private static Rule rule(int[] tags, StringMatcher m, String path) throws ConfigException {
        Pattern regex = null;
        switch (m.getMatchPatternCase()) {
            case EXACT:
            case PREFIX:
            case SUFFIX:
            case CONTAINS:
                break;
            case SAFE_REGEX:
                try {
                    regex = Pattern.compile(m.getSafeRegex().getRegex());
                } catch (PatternSyntaxException e) {
                    throw new ConfigException(path + ".safe_regex.regex: " + m.getSafeRegex().getRegex()
                                              + " (expected: a valid regular expression)", e);
                }
                break;
            default:
                throw new ConfigException(path + ": " + m.getMatchPatternCase()
                                          + " (expected: exact, prefix, suffix, contains or safe_regex)");
        }
        return new Rule(tags, m, regex);
    }

    /** Whether any SAN of {@code cert} satisfies any rule. */
    boolean matches(X509Certificate cert) {
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return false;
        }
        if (sans == null) {
            return false;
        }
        for (List<?> san : sans) {
            int tag = (Integer) san.get(0);
            if (!(san.get(1) instanceof String)) {
                continue;
            }
            String value = (String) san.get(1);
            for (Rule r : rules) {
                for (int t : r.tags) {
                    if (t == tag && matches(r, value, tag == DNS)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static boolean matches(Rule r, String value, boolean dns) {
        StringMatcher m = r.matcher;
        if (r.regex != null) {
            return r.regex.matcher(value).matches();
        }
        boolean ic = m.getIgnoreCase();
        String v = ic ? value.toLowerCase(Locale.ROOT) : value;
        switch (m.getMatchPatternCase()) {
            case EXACT: {
                String e = ic ? m.getExact().toLowerCase(Locale.ROOT) : m.getExact();
                if (v.equals(e)) {
                    return true;
                }
                if (dns && v.startsWith("*.")) {
                    int dot = e.indexOf('.');
                    return dot > 0 && e.substring(dot).equalsIgnoreCase(v.substring(1));
                }
                return false;
            }
            case PREFIX:
                return v.startsWith(ic ? m.getPrefix().toLowerCase(Locale.ROOT) : m.getPrefix());
            case SUFFIX:
                return v.endsWith(ic ? m.getSuffix().toLowerCase(Locale.ROOT) : m.getSuffix());
            case CONTAINS:
                return v.contains(ic ? m.getContains().toLowerCase(Locale.ROOT) : m.getContains());
            default:
                return false;
        }
    }
}
