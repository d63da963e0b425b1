<?php
/*
 * Plugin Name: Blog Poster connector
 * Description: Lets Blog Poster publish idempotently and set a meta description and title over the REST API.
 *              Registers the post meta "blog_poster_external_id", "blog_poster_meta_description" and
 *              "blog_poster_meta_title"
 *              (readable and writable through the REST "meta" field by users who can edit posts) and adds
 *              a "blog_poster_external_id" filter to GET /wp/v2/posts, so a retried publish finds the post
 *              it already created instead of creating a second one. Core WordPress silently drops unknown
 *              meta keys and has no REST query by meta, hence this plugin.
 * Version:     1.2.0
 * License:     MIT
 *
 * Install: copy this file to wp-content/mu-plugins/ (must-use plugins load without activation).
 */

if (!defined('ABSPATH')) {
    exit;
}

const BLOG_POSTER_EXTERNAL_ID = 'blog_poster_external_id';
const BLOG_POSTER_META_DESCRIPTION = 'blog_poster_meta_description';
const BLOG_POSTER_META_TITLE = 'blog_poster_meta_title';

add_action('init', function () {
    foreach (array(BLOG_POSTER_EXTERNAL_ID, BLOG_POSTER_META_DESCRIPTION, BLOG_POSTER_META_TITLE) as $key) {
        register_post_meta('post', $key, array(
            'type'              => 'string',
            'single'            => true,
            'show_in_rest'      => true,
            'default'           => '',
            'sanitize_callback' => 'sanitize_text_field',
            'auth_callback'     => function () { return current_user_can('edit_posts'); },
        ));
    }
});

add_filter('rest_post_collection_params', function ($params) {
    $params[BLOG_POSTER_EXTERNAL_ID] = array(
        'description' => 'Limit the result set to posts whose blog_poster_external_id meta equals this value.',
        'type'        => 'string',
    );
    return $params;
});

add_filter('rest_post_query', function ($args, $request) {
    $id = $request->get_param(BLOG_POSTER_EXTERNAL_ID);
    if ($id !== null && $id !== '') {
        $args['meta_query']   = isset($args['meta_query']) ? $args['meta_query'] : array();
        $args['meta_query'][] = array('key' => BLOG_POSTER_EXTERNAL_ID, 'value' => (string) $id, 'compare' => '=');
    }
    return $args;
}, 10, 2);

// The meta description, when no SEO plugin prints one already.
add_action('wp_head', function () {
    if (!is_singular('post') || defined('WPSEO_VERSION') || defined('RANK_MATH_VERSION')) {
        return;
    }
    $description = get_post_meta(get_queried_object_id(), BLOG_POSTER_META_DESCRIPTION, true);
    if ($description !== '') {
        printf("<meta name=\"description\" content=\"%s\">\n", esc_attr($description));
    }
}, 1);

// The meta title as the page's <title>, when no SEO plugin sets one already, with the site's name after a short one
// when the whole stays within 60 characters (what search results show), as Blog Poster's static site does. WordPress
// prints what this filter returns as it is, so it is escaped here; the site's name is stored escaped.
add_filter('pre_get_document_title', function ($title) {
    if (!is_singular('post') || defined('WPSEO_VERSION') || defined('RANK_MATH_VERSION')) {
        return $title;
    }
    $meta_title = get_post_meta(get_queried_object_id(), BLOG_POSTER_META_TITLE, true);
    if ($meta_title === '') {
        return $title;
    }
    $site = trim(wp_specialchars_decode(get_bloginfo('name'), ENT_QUOTES));
    $with_site = $meta_title . ' – ' . $site;
    if ($site !== '' && mb_strlen($meta_title) < 45 && mb_strlen($with_site) <= 60) {
        $meta_title = $with_site;
    }
    return esc_html($meta_title);
});
