package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.DestinationRule;

/**
 * Istio's {@code destinationrule.CaCertificateAnalyzer}: a DestinationRule whose TLS mode is SIMPLE or MUTUAL
 * without {@code caCertificates} (a {@code credentialName} counts only on a rule with a {@code workloadSelector},
 * that is for gateways), and without {@code insecureSkipVerify: true}
 * (which says the missing check is meant), does not verify the server: IST0128 for the rule's
 * {@code trafficPolicy.tls}, IST0129 for a {@code portLevelSettings[].tls}.
 */
public final class CaCertificateAnalyzer implements Analyzer {

    @Override
    public String name() {
        return "destinationrule.CaCertificateAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext context) {
        for (Config<?> c : context.configs(ConfigKind.DESTINATION_RULE)) {
            DestinationRule dr = c.spec(DestinationRule.class);
            DestinationRule.TrafficPolicy tp = dr.trafficPolicy();
            if (tp == null) {
                continue;
            }
            boolean gateway = dr.workloadSelector() != null;
            if (unverified(tp.tls(), gateway)) {
                context.report(MessageType.NO_SERVER_CERTIFICATE_VERIFICATION_DESTINATION_LEVEL, c,
                        c.meta().name(), c.meta().namespace(), tp.tls().mode(), dr.host());
            }
            for (DestinationRule.PortTrafficPolicy p : tp.portLevelSettings()) {
                if (unverified(p.tls(), gateway)) {
                    String port = p.port() == null || p.port().number() == null ? "" : p.port().number().toString();
                    context.report(MessageType.NO_SERVER_CERTIFICATE_VERIFICATION_PORT_LEVEL, c,
                            c.meta().name(), c.meta().namespace(), p.tls().mode(), dr.host(), port);
                }
            }
        }
    }

    private static boolean unverified(DestinationRule.ClientTLSSettings tls, boolean gateway) {
        if (tls == null || !("SIMPLE".equals(tls.mode()) || "MUTUAL".equals(tls.mode()))) {
            return false;
        }
        return isEmpty(tls.caCertificates()) && (!gateway || isEmpty(tls.credentialName()))
                && !Boolean.TRUE.equals(tls.insecureSkipVerify());
    }

    private static boolean isEmpty(String s) {
        return s == null || s.isEmpty();
    }
}
