package io.jmesh.security.testing;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

import io.jmesh.security.ca.CaRoots;
import io.jmesh.security.ca.Pem;

/**
 * Test material made with BouncyCastle: CSRs as Istio's agent sends them, and a user's root with an
 * intermediate written as an Istio {@code cacerts} directory (what the plug-in CA task makes with
 * {@code make -f Makefile.selfsigned.mk root-ca; make intermediate-cacerts}).
 */
public final class TestPki {

    private TestPki() {}

    /** A PEM CSR signed by {@code kp}, with {@code uriSan} as a URI SAN when not null. */
    public static String csr(KeyPair kp, String uriSan) throws Exception {
        var b = new JcaPKCS10CertificationRequestBuilder(new X500Name("O=cluster.local"), kp.getPublic());
        if (uriSan != null) {
            ExtensionsGenerator ext = new ExtensionsGenerator();
            ext.addExtension(Extension.subjectAlternativeName, true,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, uriSan)));
            b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate());
        }
        String alg = kp.getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        var req = b.build(new JcaContentSignerBuilder(alg).build(kp.getPrivate()));
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(req);
        }
        return w.toString();
    }

    /** An RSA key pair of {@code bits}. */
    public static KeyPair rsa(int bits) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(bits);
        return g.generateKeyPair();
    }

    /** A CA certificate for {@code subject} signed by {@code issuerKey} ({@code issuer} null: self-signed). */
    public static X509Certificate caCert(String subject, PublicKey key, X509Certificate issuer, PrivateKey issuerKey,
                                         Duration ttl) throws Exception {
        Instant now = Instant.now();
        X500Name issuerName = issuer == null ? new X500Name(subject)
                : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
        var b = new JcaX509v3CertificateBuilder(issuerName, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minusSeconds(60)), Date.from(now.plus(ttl)), new X500Name(subject), key);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        String alg = issuerKey.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(alg).build(issuerKey)));
    }

    /** A user's root and an intermediate it signed, written as a {@code cacerts} directory. */
    public record PluggedCa(KeyPair rootKey, X509Certificate root, KeyPair caKey, X509Certificate caCert) {}

    /**
     * Writes {@code dir/ca-cert.pem} (the intermediate), {@code ca-key.pem}, {@code root-cert.pem} and
     * {@code cert-chain.pem} (intermediate then root, as Istio's Makefile writes it).
     */
    public static PluggedCa pluggedCa(Path dir, String rootSubject) throws Exception {
        KeyPair rootKey = rsa(2048);
        X509Certificate root = caCert(rootSubject, rootKey.getPublic(), null, rootKey.getPrivate(), Duration.ofDays(3650));
        KeyPair caKey = CaRoots.newEcKeyPair();
        X509Certificate ca = caCert("O=Istio, CN=Intermediate CA, L=cluster1", caKey.getPublic(), root,
                rootKey.getPrivate(), Duration.ofDays(730));
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("ca-cert.pem"), Pem.encode(ca));
        Files.writeString(dir.resolve("ca-key.pem"), Pem.encode(caKey.getPrivate()));
        Files.writeString(dir.resolve("root-cert.pem"), Pem.encode(root));
        Files.writeString(dir.resolve("cert-chain.pem"), Pem.encode(List.of(ca, root)));
        return new PluggedCa(rootKey, root, caKey, ca);
    }
}
