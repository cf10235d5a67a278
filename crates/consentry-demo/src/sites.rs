//! The five seed sites: a small page each, in its own language, carrying the
//! site's real kind of tags exactly as the site would write them (no
//! Consentry markup: the layer finds and gates them).

/// A demo site.
pub struct Site {
    pub slug: &'static str,
    pub name: &'static str,
    pub lang: &'static str,
    pub tagline: &'static str,
    pub body: &'static str,
    pub tags_head: &'static str,
    pub tags_body: &'static str,
}

const MATOMO: &str = r#"<script>
  var _paq = window._paq = window._paq || [];
  _paq.push(['trackPageView']);
  _paq.push(['enableLinkTracking']);
  (function() {
    var u = "/_trackers/matomo/";
    _paq.push(['setTrackerUrl', u + 'matomo.php']);
    _paq.push(['setSiteId', '1']);
    var d = document, g = d.createElement('script'), s = d.getElementsByTagName('script')[0];
    g.async = true; g.src = u + 'matomo.js'; s.parentNode.insertBefore(g, s);
  })();
</script>"#;

const MATOMO_NOSCRIPT: &str = r#"<noscript><p><img referrerpolicy="no-referrer-when-downgrade" src="/_trackers/matomo/matomo.php?idsite=1&amp;rec=1&amp;site=rackslab" alt=""></p></noscript>"#;

pub const SITES: &[Site] = &[
    Site {
        slug: "rackslab",
        name: "Rackslab",
        lang: "en",
        tagline: "Open-source tools for HPC clusters",
        body: "<p>Rackslab builds and supports open-source software for high-performance computing: cluster dashboards, job schedulers' front-ends and monitoring agents.</p>\
               <p>Audience measurement runs on a Matomo instance we host ourselves. Turn on <em>Do Not Track</em> in your browser and nothing about your visit is measured.</p>",
        tags_head: MATOMO,
        tags_body: MATOMO_NOSCRIPT,
    },
    Site {
        slug: "redis",
        name: "Redis",
        lang: "fr",
        tagline: "La base de données en mémoire",
        body: "<p>Redis stocke vos données en mémoire pour des temps de réponse de l'ordre de la milliseconde : cache, files de messages, classements en temps réel.</p>\
               <p>Ce site ne répond pas au signal Do Not Track ; le signal Global Privacy Control est respecté.</p>\
               <h2>Démonstration vidéo</h2>\
               <iframe src=\"/_trackers/video/embed/redis-intro\" title=\"Vidéo de présentation\" width=\"480\" height=\"270\"></iframe>",
        tags_head: r#"<script async src="/_trackers/gtag/js?id=G-R3D1S0001"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-R3D1S0001');
</script>
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src='/_trackers/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-R3D1S01');</script>
<script async src="/_trackers/ads/tag.js"></script>"#,
        tags_body: r#"<noscript><iframe src="/_trackers/gtm.js/ns.html?id=GTM-R3D1S01&amp;site=redis" height="0" width="0" title="gtm"></iframe></noscript>"#,
    },
    Site {
        slug: "mailjet",
        name: "Mailjet",
        lang: "en",
        tagline: "Email delivery for developers and marketers",
        body: "<p>Send transactional and marketing email through one API, with templates your whole team can edit.</p>\
               <p>Questions? The support chat in the corner reaches our team (once you allow it).</p>",
        tags_head: r#"<script async src="/_trackers/gtag/js?id=G-MA1LJET01"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-MA1LJET01');
</script>
<script src="/_trackers/segment/analytics.js"></script>
<script src="/_trackers/optimizely/snippet.js"></script>
<script src="/_trackers/vwo/library.js"></script>"#,
        tags_body: r#"<script async src="/_trackers/drift/widget.js"></script>"#,
    },
    Site {
        slug: "alkaes",
        name: "Alkaes",
        lang: "fr",
        tagline: "Hébergement et infogérance",
        body: "<p>Alkaes héberge et administre vos serveurs. Connectez-vous à votre espace client ; cochez « se souvenir de moi » pour ne pas avoir à vous reconnecter.</p>\
               <p>Les journaux d'authentification sont conservés de 4 à 10 jours.</p>",
        tags_head: r#"<script async src="/_trackers/gtag/js?id=G-A1KAES001"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-A1KAES001');
</script>"#,
        tags_body: "",
    },
    Site {
        slug: "kisslabs",
        name: "KissLabs",
        lang: "fr",
        tagline: "Développement logiciel, données hébergées en Suisse",
        body: "<p>KissLabs conçoit des logiciels sur mesure. Aucun traceur, aucune mesure d'audience : ce site n'a donc rien à vous demander.</p>",
        tags_head: "",
        tags_body: "",
    },
];

pub fn find(slug: &str) -> Option<&'static Site> {
    SITES.iter().find(|s| s.slug == slug)
}
